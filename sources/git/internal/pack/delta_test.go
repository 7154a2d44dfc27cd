package pack

import (
	"bytes"
	"strings"
	"testing"
)

// buildDelta encodes a git delta from a script (fuzz bytes: each op is a
// copy from base or an insert) and returns the result it must give.
func buildDelta(base, script []byte) (delta, want []byte) {
	var ops []byte
	for len(script) > 0 {
		op := script[0]
		script = script[1:]
		if op&1 == 1 && len(base) > 0 && len(script) >= 3 {
			off := (int(script[0]) | int(script[1])<<8) % len(base)
			n := min(int(script[2])+1, len(base)-off)
			if op&2 == 2 && off+0x10000 <= len(base) {
				n = 0x10000 // the size written as none
			}
			script = script[3:]
			cmd := byte(0x80)
			var args []byte
			for i := range 4 {
				if b := byte(off >> (8 * i)); b != 0 {
					cmd |= 1 << i
					args = append(args, b)
				}
			}
			if n != 0x10000 {
				for i := range 3 {
					if b := byte(n >> (8 * i)); b != 0 {
						cmd |= 0x10 << i
						args = append(args, b)
					}
				}
			}
			ops = append(append(ops, cmd), args...)
			want = append(want, base[off:off+n]...)
			continue
		}
		n := min(int(op>>1)%40+1, len(script))
		if n == 0 {
			break
		}
		for lit := script[:n]; len(lit) > 0; {
			k := min(len(lit), 127)
			ops = append(append(ops, byte(k)), lit[:k]...)
			lit = lit[k:]
		}
		want = append(want, script[:n]...)
		script = script[n:]
	}
	delta = appendSize(appendSize(nil, len(base)), len(want))
	return append(delta, ops...), want
}

func appendSize(b []byte, n int) []byte {
	for n >= 0x80 {
		b = append(b, byte(n)|0x80)
		n >>= 7
	}
	return append(b, byte(n))
}

func TestApplyDelta(t *testing.T) {
	base := []byte("0123456789abcdefghij")
	tests := []struct {
		name   string
		script []byte
		want   string
		fresh  []Span
	}{
		{"one copy", []byte{1, 2, 0, 4}, "23456", nil},
		{"adjacent copies: one piece", []byte{1, 0, 0, 2, 1, 3, 0, 1}, "01234", nil},
		{"copies apart: a seam", []byte{1, 0, 0, 2, 1, 10, 0, 1}, "012ab", []Span{{3, 3}}},
		{"insert then copy", []byte{4, 'x', 'y', 'z', 1, 5, 0, 1}, "xyz56", []Span{{0, 3}}},
		{"copy, insert, copy", []byte{1, 0, 0, 1, 2, 'Q', 'R', 1, 2, 0, 0}, "01QR2", []Span{{2, 4}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, want := buildDelta(base, tt.script)
			if string(want) != tt.want {
				t.Fatalf("script gives %q, test wants %q", want, tt.want)
			}
			out, fresh, err := applyDelta(base, d, nil, nil)
			if err != nil || string(out) != tt.want {
				t.Fatalf("applyDelta = %q, %v; want %q", out, err, tt.want)
			}
			if len(fresh) != len(tt.fresh) || (len(fresh) > 0 && !equalSpans(fresh, tt.fresh)) {
				t.Errorf("fresh = %v, want %v", fresh, tt.fresh)
			}
		})
	}
	bad := []struct {
		name, delta, want string
	}{
		{"wrong base size", "\x05\x01\x01x", "base of 5 bytes"},
		{"copy past the base", "\x14\x04\x91\x12\x04", "outside its base"},
		{"insert past the data", "\x14\x04\x04ab", "truncated"},
		{"opcode 0", "\x14\x01\x00", "opcode 0"},
		{"short result", "\x14\x09\x01x", "wrote 1 of 9"},
		{"truncated copy", "\x14\x04\x91", "truncated"},
	}
	for _, tt := range bad {
		if _, _, err := applyDelta(base, []byte(tt.delta), nil, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
}

func equalSpans(a, b []Span) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzApplyDelta: no delta panics; a delta that applies gives the size it
// declares, and its fresh spans are ordered and inside the result.
func FuzzApplyDelta(f *testing.F) {
	f.Add([]byte("0123456789"), []byte("\x0a\x05\x91\x02\x03ab"))
	f.Add([]byte(""), []byte("\x00\x02\x02hi"))
	f.Add([]byte("abc"), []byte("\x03\x00"))
	f.Fuzz(func(t *testing.T, base, d []byte) {
		out, fresh, err := applyDelta(base, d, nil, nil)
		if err != nil {
			return
		}
		_, rest, _ := deltaSize(d)
		size, _, _ := deltaSize(rest)
		if uint64(len(out)) != size {
			t.Fatalf("result %d bytes, delta says %d", len(out), size)
		}
		last := 0
		for _, s := range fresh {
			if s.Start < last || s.End < s.Start || s.End > len(out) {
				t.Fatalf("fresh spans %v out of order or outside %d bytes", fresh, len(out))
			}
			last = s.End
		}
	})
}

// FuzzDeltaFresh: when the base holds no occurrence of pat, looking near
// the fresh spans finds pat in the result exactly when it is there.
func FuzzDeltaFresh(f *testing.F) {
	f.Add([]byte("the quick brown fox jumps over the lazy dog"), []byte{1, 4, 0, 9, 6, 'A', 'B', 'S', 1, 20, 0, 5}, []byte("ABSK"))
	f.Add([]byte("xxABSyy"), []byte{1, 2, 0, 2, 2, 'K', 1, 0, 0, 6}, []byte("ABSK"))
	f.Add([]byte("aaaa"), []byte{1, 0, 0, 1, 1, 2, 0, 1}, []byte("ab"))
	f.Add([]byte("abcabc"), []byte{1, 1, 0, 0, 1, 4, 0, 1}, []byte("bb"))
	f.Fuzz(func(t *testing.T, base, script, pat []byte) {
		if len(pat) == 0 || len(pat) > 8 {
			return
		}
		for i := 0; bytes.Contains(base, pat); i++ {
			if i > 64 {
				return
			}
			j := bytes.Index(base, pat)
			base[j] ^= 0x20
		}
		d, want := buildDelta(base, script)
		out, fresh, err := applyDelta(base, d, nil, nil)
		if err != nil || !bytes.Equal(out, want) {
			t.Fatalf("applyDelta = %q, %v; want %q", out, err, want)
		}
		has := func(b []byte) bool { return bytes.Contains(b, pat) }
		if got := NearFresh(out, fresh, len(pat)-1, has); got != has(out) {
			t.Fatalf("NearFresh = %v, Contains = %v: result %q, fresh %v", got, has(out), out, fresh)
		}
	})
}

// FuzzDeltaLazy: parseDelta refuses what applyDelta refuses; otherwise
// the result it writes and its fresh spans are applyDelta's, and a lazy
// blob's Near says what NearFresh says on the written result, for every
// margin, whether the base holds the pattern or not.
func FuzzDeltaLazy(f *testing.F) {
	f.Add([]byte("the quick brown fox jumps over the lazy dog"), []byte{1, 4, 0, 9, 6, 'A', 'B', 'S', 1, 20, 0, 5}, []byte("ABSK"), false)
	f.Add([]byte("xxABSyy"), []byte{1, 2, 0, 2, 2, 'K', 1, 0, 0, 6}, []byte("ABSK"), false)
	f.Add([]byte("abcabc"), []byte{1, 1, 0, 0, 1, 4, 0, 1}, []byte("bb"), false)
	f.Add([]byte("0123456789"), []byte("\x0a\x05\x91\x02\x03ab"), []byte("3a"), true)
	f.Add([]byte("abc"), []byte("\x03\x00"), []byte("a"), true)
	f.Add([]byte(""), []byte("\x00\x02\x02hi"), []byte("h"), true)
	f.Fuzz(func(t *testing.T, base, script, pat []byte, raw bool) {
		if len(pat) == 0 || len(pat) > 8 {
			return
		}
		d := script // raw: the bytes are the delta, refused or not
		if !raw {
			d, _ = buildDelta(base, script)
		}
		out, fresh, err := applyDelta(base, d, nil, nil)
		size, ops, lfresh, lerr := parseDelta(base, d, nil, nil)
		if (err == nil) != (lerr == nil) {
			t.Fatalf("applyDelta: %v; parseDelta: %v", err, lerr)
		}
		if err != nil {
			return
		}
		var buf, scratch []byte
		l := &lazyDelta{base: base, d: d, ops: ops, size: size, buf: &buf, scratch: &scratch}
		if got := l.write(); !bytes.Equal(got, out) || size != len(out) || !equalSpans(fresh, lfresh) {
			t.Fatalf("lazy result %q (%d bytes), fresh %v; applyDelta %q, fresh %v", got, size, lfresh, out, fresh)
		}
		has := func(b []byte) bool { return bytes.Contains(b, pat) }
		for margin := range len(pat) + 2 {
			buf = nil
			b := &Blob{Delta: true, Fresh: fresh, Size: int64(size), lazy: l}
			if got, want := b.Near(margin, has), NearFresh(out, fresh, margin, has); got != want {
				t.Fatalf("margin %d: Near = %v, NearFresh = %v: result %q, fresh %v", margin, got, want, out, fresh)
			}
			if buf != nil {
				t.Fatalf("Near wrote the result")
			}
		}
	})
}
