//go:build !purego

package gcmstream

import "golang.org/x/sys/cpu"

// bestMethod is the fastest GHASH this CPU runs: ghashCLMUL needs PCLMULQDQ
// and SSSE3 (PSHUFB); ghashCLMUL4 needs VPCLMULQDQ and AVX-512 F, BW, VL.
var bestMethod = func() ghashMethod {
	x := cpu.X86
	switch {
	case x.HasPCLMULQDQ && x.HasSSSE3 && x.HasAVX512VPCLMULQDQ && x.HasAVX512F && x.HasAVX512BW && x.HasAVX512VL:
		return methodCLMUL4
	case x.HasPCLMULQDQ && x.HasSSSE3:
		return methodCLMUL
	}
	return methodTable
}()

// ghashCLMUL absorbs p, a whole number of blocks, into y: eight blocks per
// reduction, then one at a time.
//
//go:noescape
func ghashCLMUL(y *fieldElement, htab *clmulTable, p []byte)

// ghashCLMUL4 absorbs p, a multiple of 512 bytes, into y: 32 blocks per
// reduction, four to a register.
//
//go:noescape
func ghashCLMUL4(y *fieldElement, htab *clmulTable, p []byte)
