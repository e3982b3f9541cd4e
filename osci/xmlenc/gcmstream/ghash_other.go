//go:build (!amd64 && !arm64) || purego

package gcmstream

// bestMethod is the table method: no assembly for this architecture.
const bestMethod = methodTable

func ghashCLMUL(*fieldElement, *clmulTable, []byte) {
	panic("gcmstream: no carry-less multiplication on this architecture")
}

func ghashCLMUL4(*fieldElement, *clmulTable, []byte) {
	panic("gcmstream: no carry-less multiplication on this architecture")
}
