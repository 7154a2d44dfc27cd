//go:build race

package bzip2

// raceMax caps the bytes compared per stream under the race detector,
// which makes a byte-at-a-time decoder some 10 times slower, and
// damagedPerInput the damaged copies of each input: make test runs with
// -race, where the whole comparison took 68 s of a 10-minute budget; the
// full one runs without it (go test ./sources/files/internal/bzip2).
const (
	raceMax         = 1 << 20
	damagedPerInput = 6
)
