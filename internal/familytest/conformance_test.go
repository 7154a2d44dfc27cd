package familytest

import (
	"testing"

	"github.com/bks-dev/bks/detectors"
)

// TestFamilies runs every family of the table through every consumer.
func TestFamilies(t *testing.T) {
	for _, f := range detectors.Families() {
		t.Run(f.Rule, func(t *testing.T) {
			gen, ok := Keys[f.Rule]
			if !ok {
				t.Fatalf("no key generator for family %s: add one to familytest.Keys", f.Rule)
			}
			Check(t, &f, gen(1))
		})
	}
}
