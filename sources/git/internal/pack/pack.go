// Package pack reads every blob of a git object store (pack files, loose
// objects, alternates) in process, for the blob-first scan.
//
// Piping 5.6 GB of blobs out of `git cat-file` cost git/git's scan about
// 7 s of system time and 10 s of cat-file CPU, mostly re-resolving delta
// chains its bounded base cache had dropped. Here each pack's objects are
// read as git index-pack resolves them: the delta forest is built from the
// object headers alone, then each tree of it is walked from its full
// object down, so every object is inflated once and every delta applied
// once, onto its base still in memory.
//
// A delta says which bytes of its result it copied from its base and which
// it inserted. Blob tells the visitor both (Fresh), with the value the
// visitor returned for the base, so a scanner that found nothing in the
// base can look only where the delta changed something.
package pack

import (
	"encoding/hex"
	"errors"
)

// ID is a SHA-1 object id.
type ID [20]byte

func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Span is a byte range [Start, End) of a blob.
type Span struct{ Start, End int }

// Blob is one blob handed to the visitor. Its fields are valid only during
// the call.
type Blob struct {
	ID   ID
	Data []byte
	// Delta is set when the blob was stored as a delta against another
	// blob; Base is then what the visitor returned for that blob.
	Delta bool
	Base  uint8
	// Fresh, for a delta, lists in order the ranges of Data that were not
	// copied from the base in one piece: inserted bytes, and an empty span
	// where two copies that were not adjacent in the base meet. Any run of
	// bytes of Data that overlaps no Fresh span (nor touches an empty one
	// from both sides) is also a run of bytes of the base.
	Fresh []Span
	// Skipped: a blob over Store.SkipOver, not read (Data is nil).
	Skipped bool
	// Size is the blob's size, read or not.
	Size int64
	// lazy, for a delta Store.Lazy passed without Data: see Content.
	lazy *lazyDelta
}

// NearFresh says whether check is true for some part of data within
// margin bytes of a fresh span (or of an empty one). When the base of a
// delta held no literal of up to margin+1 bytes, a literal in data must
// overlap a fresh span or straddle an empty one (elsewhere it would be a
// copy of one in the base): NearFresh with check = "holds such a
// literal" then equals check(data), looking only near the changes.
func NearFresh(data []byte, fresh []Span, margin int, check func([]byte) bool) bool {
	return nearFresh(len(data), fresh, margin, func(lo, hi int) bool { return check(data[lo:hi]) })
}

// nearFresh calls check on the windows NearFresh looks at, in order,
// until one says true.
func nearFresh(size int, fresh []Span, margin int, check func(lo, hi int) bool) bool {
	lo, hi := -1, -1
	for _, f := range fresh {
		a, b := max(f.Start-margin, 0), min(f.End+margin, size)
		if lo >= 0 && a <= hi {
			hi = max(hi, b)
			continue
		}
		if lo >= 0 && check(lo, hi) {
			return true
		}
		lo, hi = a, b
	}
	return lo >= 0 && check(lo, hi)
}

// Content returns the blob's content: Data, written first for a delta
// Store.Lazy passed without it. Valid only during the visitor's call.
func (b *Blob) Content() []byte {
	if b.Data == nil && b.lazy != nil {
		b.Data = b.lazy.write()
	}
	return b.Data
}

// Near is NearFresh(b.Content(), b.Fresh, margin, check), but a delta
// passed without its content is read only within margin of its fresh
// spans, from its base and its delta as they are (TestStoreMatchesGit,
// FuzzDeltaLazy).
func (b *Blob) Near(margin int, check func([]byte) bool) bool {
	if b.Data != nil || b.lazy == nil {
		return NearFresh(b.Data, b.Fresh, margin, check)
	}
	i := 0
	return nearFresh(b.lazy.size, b.Fresh, margin, func(lo, hi int) bool {
		return check(b.lazy.window(lo, hi, &i))
	})
}

// Visitor is called for every blob, concurrently from several goroutines
// (worker is 0..workers-1, so per-worker state needs no lock). What it
// returns is passed to the blobs stored as deltas against this one.
type Visitor func(worker int, b *Blob) uint8

// ErrUnsupported means the store uses something this package does not read
// (another hash, an old index version); the caller should use git.
var ErrUnsupported = errors.New("unsupported object store")
