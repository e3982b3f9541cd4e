// Package writeback starts the disk write of a file's octets while the
// file is still being written, so that the fsync which makes it durable
// waits only for the last few mebibytes instead of the whole file.
//
// Guarantee: a Writer passes every octet to its file unchanged and in
// order; it returns the file's own write errors. It never makes anything
// durable: only the caller's fsync does, and it is still needed. Starting
// the write back is advice to the kernel (sync_file_range with
// SYNC_FILE_RANGE_WRITE on Linux, nothing elsewhere); when the kernel
// refuses it, nothing is lost, the fsync then writes those octets.
//
// Use it only for files that will be fsync'd: a spool file removed unsynced
// would otherwise be written to disk for nothing.
package writeback
