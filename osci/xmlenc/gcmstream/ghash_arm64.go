//go:build !purego

package gcmstream

import "golang.org/x/sys/cpu"

// bestMethod is PMULL (ARMv8 carry-less multiplication) where the CPU has
// it, else the table method.
var bestMethod = func() ghashMethod {
	if cpu.ARM64.HasPMULL {
		return methodCLMUL
	}
	return methodTable
}()

// ghashCLMUL absorbs p, a whole number of blocks, into y: eight blocks per
// reduction, then one at a time.
//
//go:noescape
func ghashCLMUL(y *fieldElement, htab *clmulTable, p []byte)

func ghashCLMUL4(*fieldElement, *clmulTable, []byte) {
	panic("gcmstream: no 512-bit carry-less multiplication on arm64")
}
