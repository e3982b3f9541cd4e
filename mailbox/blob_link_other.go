//go:build !linux

package mailbox

// cloneFile is not available here: OSFS.Link hard-links.
func cloneFile(oldname, newname string) error { return errNoClone }
