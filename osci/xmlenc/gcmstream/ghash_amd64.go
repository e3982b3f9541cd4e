//go:build !purego

package gcmstream

import "golang.org/x/sys/cpu"

// useCLMUL says whether the CPU has PCLMULQDQ (carry-less multiplication)
// and SSSE3 (PSHUFB), which ghashCLMUL needs.
var useCLMUL = cpu.X86.HasPCLMULQDQ && cpu.X86.HasSSSE3

// ghashCLMUL absorbs p, a whole number of blocks, into y: eight blocks per
// reduction, then one at a time.
//
//go:noescape
func ghashCLMUL(y *fieldElement, htab *clmulTable, p []byte)
