package detectors

import "golang.org/x/sys/cpu"

// haveSIMD says whether pairBlocks runs on AVX2 (faster than the scalar
// loop of nextHit), so that New turns the filter on.
var haveSIMD = cpu.X86.HasAVX2

// pairBlocksAVX2 is pairBlocksGo with AVX2 instructions (pairblocks_amd64.s).
//
//go:noescape
func pairBlocksAVX2(p *byte, n int, f *pairFilter) (off int, mask uint32)

// pairBlocks is pairBlocksGo, with AVX2 when the CPU has it.
func pairBlocks(data []byte, f *pairFilter) (off int, mask uint32) {
	if haveSIMD && len(data) >= 33 {
		return pairBlocksAVX2(&data[0], len(data), f)
	}
	return pairBlocksGo(data, f)
}
