//go:build !amd64 || purego

package gcmstream

// useCLMUL is false: GHASH uses the table method on this architecture.
const useCLMUL = false

func ghashCLMUL(*fieldElement, *clmulTable, []byte) {
	panic("gcmstream: no carry-less multiplication on this architecture")
}
