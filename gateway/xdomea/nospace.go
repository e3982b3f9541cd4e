package xdomea

import "syscall"

var errNoSpace error = syscall.ENOSPC
