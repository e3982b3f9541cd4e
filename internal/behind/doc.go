// Package behind runs a writer on its own goroutine, behind the code that
// produces the octets (a decryption, a network read), so that on a machine
// with two cores a file write or a hash costs that code no time.
//
// Guarantee: the underlying writer receives exactly the octets passed to
// Write, in order, each at most once; Write copies them, so the caller may
// reuse its buffer at once. Memory is bounded (a few buffers), not
// proportional to the input. Nothing is lost silently: the first error of
// the underlying writer is returned by every later Write and by Close, and
// after it nothing more is written. Only when Close returns nil has
// everything been written. A Writer must end with Close, or its goroutine
// stays.
package behind
