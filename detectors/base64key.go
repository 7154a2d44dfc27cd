package detectors

import (
	"bytes"
	"encoding/base64"
)

// Keys re-encoded in base64 (a Kubernetes Secret's data, a .env piped
// through base64), whole or wrapped over lines. The text is decoded as it
// is read, group by group, and only as far as the key goes: a hit costs
// about its key's length, whatever base64 follows.

// b64Text decodes base64 text fed in pieces.
type b64Text struct {
	pend []byte // characters short of a whole group
	dec  []byte // the whole groups decoded so far
	bad  bool   // not base64
	// keyEnd is how far past the key's prefix dec holds key characters
	// (from align): the key's run is scanned once, as it grows.
	keyEnd int
}

// add decodes the whole groups that s completes.
func (t *b64Text) add(s []byte) {
	if t.bad {
		return
	}
	t.pend = append(t.pend, s...)
	n := len(t.pend) &^ 3
	if n == 0 {
		return
	}
	old := len(t.dec)
	t.dec = append(t.dec, make([]byte, n/4*3)...)
	m, err := base64.StdEncoding.Decode(t.dec[old:], t.pend[:n])
	t.dec = t.dec[:old+m]
	t.pend = append(t.pend[:0], t.pend[n:]...)
	t.bad = err != nil
}

// key returns the key of family f that starts align bytes into the decoded
// text, with the padding that follows it (pad completes the last group),
// and whether more text could make it longer (open). ok is false when the
// text does not hold a key of f there.
func (t *b64Text) key(align int, f *Family, pad []byte) (key []byte, open, ok bool) {
	if t.bad {
		return nil, false, false
	}
	dec := t.dec
	if len(pad) > 0 && len(t.pend)+len(pad) == 4 {
		var g [3]byte
		if n, err := base64.StdEncoding.Decode(g[:], append(t.pend[:len(t.pend):len(t.pend)], pad...)); err == nil {
			dec = append(dec[:len(dec):len(dec)], g[:n]...)
		}
	}
	if len(dec) < align+len(f.Prefix) {
		return nil, len(pad) == 0, false
	}
	d := dec[align:]
	if !bytes.HasPrefix(d, []byte(f.Prefix)) {
		return nil, false, false
	}
	k := max(t.keyEnd, len(f.Prefix))
	for k < len(d) && k < MaxKeyLen && isKeyChar(d[k]) {
		k++
	}
	if len(dec) == len(t.dec) {
		t.keyEnd = k // only the whole groups' part is kept
	}
	open = k == len(d) && k < MaxKeyLen && len(pad) == 0
	end := padEnd(d, k)
	return d[:end:end], open, true
}

func (e *Engine) checkBase64(st *scanState, data []byte, p int, a *anchor) (Match, bool) {
	f := &e.fams[a.fam]
	g := p - a.groupOff
	if g < 0 {
		return Match{}, false
	}
	for k := g; k < p; k++ {
		if !isB64Char(data[k]) {
			return Match{}, false
		}
	}
	j := st.runEnd(&st.b64Run, isB64Char, data, p, min(len(data), g+MaxMatchLen))
	end := padEnd(data, j)
	// Decode as far as the key goes, in growing steps.
	var t b64Text
	var key []byte
	open, ok := true, false
	for fed, step := g, 64; open && fed < j; step *= 2 {
		next := min(j, fed+step)
		t.add(data[fed:next])
		st.work += next - fed
		fed = next
		pad := data[j:end]
		if fed < j {
			pad = nil
		}
		key, open, ok = t.key(a.align, f, pad)
		if ok && f.Long {
			if plausible, could := longTermStart(key[len(f.Prefix):]); !plausible && !could {
				return Match{}, false
			}
		}
	}
	var m Match
	if ok && f.Long && !plausibleLongTerm(key[len(f.Prefix):]) {
		ok = false
	}
	if ok {
		m, ok = e.finish(key, g, end, EncodingBase64, f)
	}
	if end == j && open && !(ok && isWhole(m)) {
		if jm, jok := e.joinBase64(st, data, g, j, &t, a, f); jok {
			return jm, true
		}
	}
	return m, ok
}

// joinBase64 joins the lines of a wrapped base64 block whose first line
// ends at end, fed to t so far (see join.go). It returns the key only when
// it is whole.
func (e *Engine) joinBase64(st *scanState, data []byte, g, end int, t *b64Text, a *anchor, f *Family) (Match, bool) {
	lim := min(len(data), g+MaxMatchLen)
	for pieces := 2; pieces <= maxPieces; pieces++ {
		s := st.nextPiece(data, end, isB64Char)
		if s < 0 || s >= lim {
			return Match{}, false
		}
		end = s
		for end < lim && isB64Char(data[end]) {
			end++
		}
		t.add(data[s:end])
		st.work += end - s
		stop := padEnd(data, end)
		key, open, ok := t.key(a.align, f, data[end:stop])
		if !ok && !open {
			return Match{}, false
		}
		if ok {
			m, whole, more := e.tryWhole(st, key, g, stop, EncodingBase64, f)
			if whole {
				m.Pieces = pieces
				return m, true
			}
			if !more || !open {
				return Match{}, false
			}
		}
	}
	return Match{}, false
}
