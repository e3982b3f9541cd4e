//go:build !purego

#include "textflag.h"

// GHASH with PMULL, the same arithmetic as ghash_amd64.s: blocks reversed
// into 128-bit integers (REV64 and a swap of the halves), products with
// H·x^-1 that need no shift, eight blocks summed unreduced against H^8..H^1,
// and the two-step reduction by 0xc200000000000000.

// BSWAP reverses the sixteen bytes of V.
#define BSWAP(V) \
	VREV64 V.B16, V.B16; \
	VEXT   $8, V.B16, V.B16, V.B16

// MULADD adds the unreduced product of X and H to V4 (low 128 bits), V5
// (high) and V6 (middle).
#define MULADD(X, H) \
	VPMULL  X.D1, H.D1, V26.Q1; \
	VPMULL2 X.D2, H.D2, V27.Q1; \
	VEXT    $8, X.B16, X.B16, V28.B16; \
	VPMULL  V28.D1, H.D1, V29.Q1; \
	VPMULL2 V28.D2, H.D2, V30.Q1; \
	VEOR    V26.B16, V4.B16, V4.B16; \
	VEOR    V27.B16, V5.B16, V5.B16; \
	VEOR    V29.B16, V6.B16, V6.B16; \
	VEOR    V30.B16, V6.B16, V6.B16

#define ZEROACC \
	VEOR V4.B16, V4.B16, V4.B16; \
	VEOR V5.B16, V5.B16, V5.B16; \
	VEOR V6.B16, V6.B16, V6.B16

// REDUCE folds the middle into V4:V5 and reduces them into V0.
#define REDUCE \
	VEXT   $8, V6.B16, V25.B16, V26.B16; \
	VEXT   $8, V25.B16, V6.B16, V27.B16; \
	VEOR   V26.B16, V4.B16, V4.B16; \
	VEOR   V27.B16, V5.B16, V5.B16; \
	VPMULL V4.D1, V24.D1, V26.Q1; \
	VEXT   $8, V4.B16, V4.B16, V4.B16; \
	VEOR   V26.B16, V4.B16, V4.B16; \
	VPMULL V4.D1, V24.D1, V26.Q1; \
	VEXT   $8, V4.B16, V4.B16, V4.B16; \
	VEOR   V4.B16, V5.B16, V5.B16; \
	VEOR   V26.B16, V5.B16, V0.B16

// func ghashCLMUL(y *fieldElement, htab *clmulTable, p []byte)
TEXT ·ghashCLMUL(SB), NOSPLIT, $0-40
	MOVD y+0(FP), R0
	MOVD htab+8(FP), R1
	MOVD p_base+16(FP), R2
	MOVD p_len+24(FP), R3

	VLD1.P 64(R1), [V16.B16, V17.B16, V18.B16, V19.B16]
	VLD1   (R1), [V20.B16, V21.B16, V22.B16, V23.B16]
	MOVD   $0xc200000000000000, R6
	VEOR   V24.B16, V24.B16, V24.B16
	VMOV   R6, V24.D[0]
	VEOR   V25.B16, V25.B16, V25.B16

	// fieldElement is {hi, lo}; the register wants lo in the low half.
	LDP  (R0), (R4, R5)
	VMOV R5, V0.D[0]
	VMOV R4, V0.D[1]

	CMP $128, R3
	BLT single

eight:
	VLD1.P 64(R2), [V8.B16, V9.B16, V10.B16, V11.B16]
	VLD1.P 64(R2), [V12.B16, V13.B16, V14.B16, V15.B16]
	BSWAP(V8)
	BSWAP(V9)
	BSWAP(V10)
	BSWAP(V11)
	BSWAP(V12)
	BSWAP(V13)
	BSWAP(V14)
	BSWAP(V15)
	VEOR V0.B16, V8.B16, V8.B16
	ZEROACC
	MULADD(V8, V23)
	MULADD(V9, V22)
	MULADD(V10, V21)
	MULADD(V11, V20)
	MULADD(V12, V19)
	MULADD(V13, V18)
	MULADD(V14, V17)
	MULADD(V15, V16)
	REDUCE
	SUB $128, R3
	CMP $128, R3
	BGE eight

single:
	CMP $16, R3
	BLT done
	VLD1.P 16(R2), [V8.B16]
	BSWAP(V8)
	VEOR V0.B16, V8.B16, V8.B16
	ZEROACC
	MULADD(V8, V16)
	REDUCE
	SUB $16, R3
	B   single

done:
	VMOV V0.D[0], R5
	VMOV V0.D[1], R4
	STP  (R4, R5), (R0)
	RET
