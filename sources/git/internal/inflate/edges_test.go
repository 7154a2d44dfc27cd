package inflate

import "testing"

type edge struct {
	name string
	src  []byte
}

func edges() []edge { return nil }

var _ = testing.Short
