//go:build !race

package bzip2

// raceMax: see race_on_test.go.
const raceMax = 256 << 20
