// Package parhash computes a SHA-256 on its own goroutine, beside the
// writer that produces the octets (an encryption, a file write), so that
// on a machine with two cores the hash costs that writer no time.
//
// Guarantee: Sum returns the SHA-256 of exactly the octets passed to
// Write, in order; Write copies them, so the caller may reuse its buffer
// at once. Memory is bounded (a few buffers), not proportional to the
// input. A Hash must end with Sum or Abort, or its goroutine stays.
package parhash
