package gcmstream

import "sync"

// chunkSize is the unit of work: big enough that the assembly loops run
// long, small enough that a chunk stays in the core's cache between the
// keystream, GHASH and the copy to the destination.
const chunkSize = 64 << 10

type chunk = [chunkSize]byte

// chunks recycles working buffers, so a small message costs no 64 KiB
// allocation and a stream no garbage per call.
var chunks = sync.Pool{New: func() any { return new(chunk) }}

func getChunk() *chunk { return chunks.Get().(*chunk) }

// putChunk returns c after clearing its first used bytes: buffers held
// plaintext or key stream material and are handed out again.
func putChunk(c *chunk, used int) {
	clear(c[:min(used, chunkSize)])
	chunks.Put(c)
}
