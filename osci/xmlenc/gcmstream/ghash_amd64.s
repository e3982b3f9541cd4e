//go:build !purego

#include "textflag.h"

// GHASH with PCLMULQDQ. A block's bytes, reversed (PSHUFB), are a 128-bit
// integer whose bit 127 is GCM's coefficient of x^0. In that form the
// carry-less product of a block and H·x^-1 (htab) is the exact 256-bit
// product, and reducing it modulo x^128 + x^7 + x^2 + x + 1 is a Montgomery
// reduction by 2^128 done in two 64-bit halves: each half q is cancelled by
// adding q·(the reversed polynomial), which is q, q·0xc2<<57… folded with
// one PCLMULQDQ by 0xc200000000000000 and a swap of the 64-bit halves.
// Eight blocks are multiplied by H^8..H^1, summed unreduced and reduced once.

DATA bswapMask<>+0(SB)/8, $0x08090a0b0c0d0e0f
DATA bswapMask<>+8(SB)/8, $0x0001020304050607
GLOBL bswapMask<>(SB), RODATA|NOPTR, $16

DATA reducePoly<>+0(SB)/8, $0xc200000000000000
DATA reducePoly<>+8(SB)/8, $0
GLOBL reducePoly<>(SB), RODATA|NOPTR, $16

// MULADD adds the unreduced product of X1 and the power at htab+hoff to
// the accumulators X4 (low 128 bits), X5 (high) and X6 (middle).
#define MULADD(hoff) \
	MOVOU     hoff(SI), X8; \
	MOVOU     X1, X2; \
	MOVOU     X1, X3; \
	MOVOU     X1, X7; \
	PCLMULQDQ $0x00, X8, X1; \
	PCLMULQDQ $0x11, X8, X2; \
	PCLMULQDQ $0x01, X8, X3; \
	PCLMULQDQ $0x10, X8, X7; \
	PXOR      X1, X4; \
	PXOR      X2, X5; \
	PXOR      X3, X6; \
	PXOR      X7, X6

// BLOCK loads the block at DX+off, byte-reversed, into X1.
#define BLOCK(off) \
	MOVOU  off(DX), X1; \
	PSHUFB X13, X1

// REDUCE folds the middle into X4:X5 and reduces them into X0.
#define REDUCE \
	MOVOU     X6, X7; \
	PSLLDQ    $8, X7; \
	PSRLDQ    $8, X6; \
	PXOR      X7, X4; \
	PXOR      X6, X5; \
	MOVOU     X4, X1; \
	PCLMULQDQ $0x00, X12, X1; \
	PSHUFD    $0x4e, X4, X4; \
	PXOR      X1, X4; \
	MOVOU     X4, X1; \
	PCLMULQDQ $0x00, X12, X1; \
	PSHUFD    $0x4e, X4, X4; \
	PXOR      X4, X5; \
	PXOR      X1, X5; \
	MOVOU     X5, X0

#define ZEROACC \
	PXOR X4, X4; \
	PXOR X5, X5; \
	PXOR X6, X6

// func ghashCLMUL(y *fieldElement, htab *clmulTable, p []byte)
TEXT ·ghashCLMUL(SB), NOSPLIT, $0-40
	MOVQ  y+0(FP), DI
	MOVQ  htab+8(FP), SI
	MOVQ  p_base+16(FP), DX
	MOVQ  p_len+24(FP), CX
	MOVOU bswapMask<>(SB), X13
	MOVOU reducePoly<>(SB), X12

	// fieldElement is {hi, lo}; the register wants lo in the low half.
	MOVOU  (DI), X0
	PSHUFD $0x4e, X0, X0

	CMPQ CX, $128
	JB   single

eight:
	ZEROACC
	BLOCK(0)
	PXOR X0, X1
	MULADD(112)
	BLOCK(16)
	MULADD(96)
	BLOCK(32)
	MULADD(80)
	BLOCK(48)
	MULADD(64)
	BLOCK(64)
	MULADD(48)
	BLOCK(80)
	MULADD(32)
	BLOCK(96)
	MULADD(16)
	BLOCK(112)
	MULADD(0)
	REDUCE
	ADDQ $128, DX
	SUBQ $128, CX
	CMPQ CX, $128
	JAE  eight

single:
	CMPQ CX, $16
	JB   done
	ZEROACC
	BLOCK(0)
	PXOR X0, X1
	MULADD(0)
	REDUCE
	ADDQ $16, DX
	SUBQ $16, CX
	JMP  single

done:
	PSHUFD $0x4e, X0, X0
	MOVOU  X0, (DI)
	RET

// The same with VPCLMULQDQ on 512-bit registers: 32 blocks, four to a
// register, each 128-bit lane multiplied by its own power (htab.wide,
// H^32..H^1); the lanes' unreduced sums are added and reduced once. Only
// the first block depends on the previous reduction, so the other 31
// products overlap it.

// MUL4ADD adds the lane-wise unreduced products of data D and powers P to
// Z5 (low), Z6 (high) and Z7 (middle).
#define MUL4ADD(D, P) \
	VPCLMULQDQ $0x00, P, D, Z8; \
	VPCLMULQDQ $0x11, P, D, Z9; \
	VPCLMULQDQ $0x01, P, D, Z10; \
	VPCLMULQDQ $0x10, P, D, Z11; \
	VPXORQ     Z8, Z5, Z5; \
	VPXORQ     Z9, Z6, Z6; \
	VPXORQ     Z10, Z7, Z7; \
	VPXORQ     Z11, Z7, Z7

// LOAD4 loads four blocks at DX+off into D, byte-reversed.
#define LOAD4(off, D) \
	VMOVDQU64 off(DX), D; \
	VPSHUFB   Z31, D, D

// func ghashCLMUL4(y *fieldElement, htab *clmulTable, p []byte)
TEXT ·ghashCLMUL4(SB), NOSPLIT, $0-40
	MOVQ            y+0(FP), DI
	MOVQ            htab+8(FP), SI
	MOVQ            p_base+16(FP), DX
	MOVQ            p_len+24(FP), CX
	VBROADCASTI32X4 bswapMask<>(SB), Z31
	VMOVDQU         reducePoly<>(SB), X12
	VMOVDQU64       128(SI), Z16
	VMOVDQU64       192(SI), Z17
	VMOVDQU64       256(SI), Z18
	VMOVDQU64       320(SI), Z19
	VMOVDQU64       384(SI), Z20
	VMOVDQU64       448(SI), Z21
	VMOVDQU64       512(SI), Z22
	VMOVDQU64       576(SI), Z23

	// VEX-encoded: the upper lanes of Z0 become zero, so Y joins lane 0 only.
	VMOVDQU (DI), X0
	VPSHUFD $0x4e, X0, X0

	CMPQ CX, $512
	JB   done4

wide:
	LOAD4(0, Z1)
	VPXORQ Z0, Z1, Z1
	VPXORQ Z5, Z5, Z5
	VPXORQ Z6, Z6, Z6
	VPXORQ Z7, Z7, Z7
	MUL4ADD(Z1, Z16)
	LOAD4(64, Z1)
	MUL4ADD(Z1, Z17)
	LOAD4(128, Z1)
	MUL4ADD(Z1, Z18)
	LOAD4(192, Z1)
	MUL4ADD(Z1, Z19)
	LOAD4(256, Z1)
	MUL4ADD(Z1, Z20)
	LOAD4(320, Z1)
	MUL4ADD(Z1, Z21)
	LOAD4(384, Z1)
	MUL4ADD(Z1, Z22)
	LOAD4(448, Z1)
	MUL4ADD(Z1, Z23)

	// Fold the middle into each lane, then add the four lanes.
	VPSLLDQ       $8, Z7, Z8
	VPSRLDQ       $8, Z7, Z7
	VPXORQ        Z8, Z5, Z5
	VPXORQ        Z7, Z6, Z6
	VEXTRACTI64X4 $1, Z5, Y8
	VEXTRACTI64X4 $1, Z6, Y9
	VPXOR         Y8, Y5, Y5
	VPXOR         Y9, Y6, Y6
	VEXTRACTI128  $1, Y5, X8
	VEXTRACTI128  $1, Y6, X9
	VPXOR         X8, X5, X5
	VPXOR         X9, X6, X6

	// Reduce X5 (low) : X6 (high) into X0, as REDUCE does.
	VPCLMULQDQ $0x00, X12, X5, X8
	VPSHUFD    $0x4e, X5, X5
	VPXOR      X8, X5, X5
	VPCLMULQDQ $0x00, X12, X5, X8
	VPSHUFD    $0x4e, X5, X5
	VPXOR      X5, X6, X6
	VPXOR      X8, X6, X0

	ADDQ $512, DX
	SUBQ $512, CX
	CMPQ CX, $512
	JAE  wide

done4:
	VPSHUFD    $0x4e, X0, X0
	VMOVDQU    X0, (DI)
	VZEROUPPER
	RET
