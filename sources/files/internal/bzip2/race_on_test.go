//go:build race

package bzip2

// raceMax caps the bytes compared per stream under the race detector,
// which makes a byte-at-a-time decoder some 10 times slower.
const raceMax = 4 << 20
