//go:build !amd64

package detectors

// haveSIMD is false: pairBlocks is the pure-Go loop, slower than nextHit's
// scalar loop, so New leaves the filter off.
var haveSIMD = false

// pairBlocks is pairBlocksGo.
func pairBlocks(data []byte, f *pairFilter) (off int, mask uint32) {
	return pairBlocksGo(data, f)
}
