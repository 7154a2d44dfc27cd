#include "textflag.h"

// func pairBlocksAVX2(p *byte, n int, f *pairFilter) (off int, mask uint32)
//
// For each block of 32 positions p[off:off+32] with off+33 <= n (a
// position's pair is its byte and the next), it looks up the low and high
// nibbles of both bytes of each pair in f's four 16-byte tables (VPSHUFB
// does 32 lookups at once) and ANDs the bucket bits. It returns the first
// block where some position has a bucket left, with one bit per such
// position, or the first off past the last whole block and mask 0.
TEXT ·pairBlocksAVX2(SB), NOSPLIT, $0-36
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), DX
	MOVQ f+16(FP), DI
	VBROADCASTI128 0(DI), Y8   // lo0
	VBROADCASTI128 16(DI), Y9  // hi0
	VBROADCASTI128 32(DI), Y10 // lo1
	VBROADCASTI128 48(DI), Y11 // hi1
	MOVL $0x0f0f0f0f, AX
	MOVL AX, X12
	VPBROADCASTD X12, Y12      // 0x0f in every byte
	VPXOR Y13, Y13, Y13        // zero
	XORQ AX, AX

loop:
	LEAQ 33(AX), BX
	CMPQ BX, DX
	JGT  none
	VMOVDQU (SI)(AX*1), Y0  // first bytes
	VMOVDQU 1(SI)(AX*1), Y1 // second bytes
	VPSRLW $4, Y0, Y2
	VPAND Y12, Y2, Y2
	VPAND Y12, Y0, Y0
	VPSHUFB Y0, Y8, Y0
	VPSHUFB Y2, Y9, Y2
	VPAND Y0, Y2, Y0
	VPSRLW $4, Y1, Y3
	VPAND Y12, Y3, Y3
	VPAND Y12, Y1, Y1
	VPSHUFB Y1, Y10, Y1
	VPSHUFB Y3, Y11, Y3
	VPAND Y1, Y3, Y1
	VPAND Y0, Y1, Y0
	VPCMPEQB Y13, Y0, Y0 // 0xff where no bucket is left
	VPMOVMSKB Y0, BX
	NOTL BX
	TESTL BX, BX
	JNZ  found
	ADDQ $32, AX
	JMP  loop

found:
	VZEROUPPER
	MOVQ AX, off+24(FP)
	MOVL BX, mask+32(FP)
	RET

none:
	VZEROUPPER
	MOVQ AX, off+24(FP)
	MOVL $0, mask+32(FP)
	RET
