package awsemu_test

import (
	"testing"

	"github.com/bks-dev/bks/internal/awsemu"
)

// The committed scenario (make demo, end-to-end tests) loads and starts.
func TestScenarioFileLoads(t *testing.T) {
	seed, err := awsemu.LoadSeed("../../testdata/aws/scenario.json")
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, seed)
	if got := len(s.UserNames("111122223333")); got != 6 {
		t.Fatalf("users = %d", got)
	}
	if _, err := awsemu.LoadSeed("testdata/does-not-exist.json"); err == nil {
		t.Fatal("missing seed file accepted")
	}
}
