//go:build !race

package bzip2

// raceMax and damagedPerInput: see race_on_test.go.
const (
	raceMax         = 256 << 20
	damagedPerInput = 24
)
