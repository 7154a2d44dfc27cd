package sources

import (
	"errors"
	"io"
	"unicode/utf8"
)

// Encodings a blob can be transcoded from; they are the values of
// Origin.Transcoded.
const (
	UTF16LE = "utf-16le"
	UTF16BE = "utf-16be"
)

// SniffLen is how many leading bytes SniffUTF16 looks at.
const SniffLen = 512

// SniffUTF16 says whether head, the first bytes of a blob (SniffLen are
// enough), is UTF-16 text. It returns the encoding (UTF16LE or UTF16BE, ""
// when not UTF-16) and the length of the byte order mark to skip.
//
// A BOM decides. Without one, the text is taken for UTF-16 when at least 4
// code units were seen and nearly all of them (>= 90%) are printable ASCII
// or whitespace written in UTF-16 of one byte order: "k\x00e\x00y\x00" is
// UTF-16LE. Text in scripts beyond ASCII needs a BOM to be recognized, which
// is what Windows tools write; keys are ASCII, so this misses no key that a
// raw scan would have found.
func SniffUTF16(head []byte) (enc string, bom int) {
	if len(head) >= 2 {
		switch {
		case head[0] == 0xFF && head[1] == 0xFE:
			// FF FE 00 00 is a UTF-32LE BOM; not handled, scan raw.
			if len(head) >= 4 && head[2] == 0 && head[3] == 0 {
				return "", 0
			}
			return UTF16LE, 2
		case head[0] == 0xFE && head[1] == 0xFF:
			return UTF16BE, 2
		}
	}
	if len(head) > SniffLen {
		head = head[:SniffLen]
	}
	units := len(head) / 2
	if units < 4 {
		return "", 0
	}
	le, be := 0, 0
	for i := 0; i+1 < len(head); i += 2 {
		a, b := head[i], head[i+1]
		switch {
		case b == 0 && asciiText(a):
			le++
		case a == 0 && asciiText(b):
			be++
		}
	}
	switch {
	case le*10 >= units*9:
		return UTF16LE, 0
	case be*10 >= units*9:
		return UTF16BE, 0
	}
	return "", 0
}

func asciiText(c byte) bool {
	return c >= 0x20 && c < 0x7f || c == '\t' || c == '\n' || c == '\r'
}

// NewUTF16Reader returns a reader of the UTF-8 encoding of the UTF-16 text
// read from r. A BOM is not skipped (callers skip it, see SniffUTF16).
// Unpaired surrogates and a trailing odd byte become U+FFFD, as
// unicode/utf16.Decode does. It reads r in blocks and holds at most a few
// tens of KiB, whatever the stream's length.
func NewUTF16Reader(r io.Reader, bigEndian bool) io.Reader {
	return &utf16Reader{r: r, be: bigEndian}
}

const utf16Block = 32 << 10

type utf16Reader struct {
	r    io.Reader
	be   bool
	in   []byte // in[:n] holds undecoded input
	n    int
	out  []byte // out[off:] is decoded output not yet returned
	off  int
	err  error // sticky error of r
	done bool
}

func (u *utf16Reader) Read(p []byte) (int, error) {
	for u.off == len(u.out) {
		if u.done {
			return 0, u.err
		}
		if u.in == nil {
			u.in = make([]byte, utf16Block)
			u.out = make([]byte, 0, utf16Block*3/2+8)
		}
		m, err := u.r.Read(u.in[u.n:])
		u.n += m
		if err != nil {
			u.done = true
			if !errors.Is(err, io.EOF) {
				u.err = err
			} else {
				u.err = io.EOF
			}
		}
		u.decode(u.done)
		if m == 0 && err == nil && u.off == len(u.out) {
			// A reader returning 0, nil: let the caller retry.
			return 0, nil
		}
	}
	n := copy(p, u.out[u.off:])
	u.off += n
	return n, nil
}

// decode converts the whole code units of u.in[:u.n] into u.out and keeps
// what cannot be decoded yet (an odd byte, a high surrogate whose pair has
// not been read) at the start of u.in. At the end of input nothing is kept.
func (u *utf16Reader) decode(final bool) {
	in := u.in[:u.n]
	out := u.out[:0]
	i := 0
	for ; i+1 < len(in); i += 2 {
		c := u.unit(in[i:])
		switch {
		case c < utf8.RuneSelf:
			out = append(out, byte(c))
		case c < 0xD800 || c > 0xDFFF:
			out = utf8.AppendRune(out, rune(c))
		case c >= 0xDC00:
			out = utf8.AppendRune(out, utf8.RuneError) // lone low surrogate
		case i+3 < len(in):
			d := u.unit(in[i+2:])
			if d >= 0xDC00 && d <= 0xDFFF {
				out = utf8.AppendRune(out, (rune(c)-0xD800)<<10|(rune(d)-0xDC00)+0x10000)
				i += 2
			} else {
				out = utf8.AppendRune(out, utf8.RuneError)
			}
		case final:
			out = utf8.AppendRune(out, utf8.RuneError)
		default:
			// A high surrogate at the end of the block: wait for its pair.
			u.out, u.off = out, 0
			u.n = copy(u.in, in[i:])
			return
		}
	}
	if i < len(in) && final {
		out = utf8.AppendRune(out, utf8.RuneError) // odd trailing byte
		i = len(in)
	}
	u.out, u.off = out, 0
	u.n = copy(u.in, in[i:])
}

func (u *utf16Reader) unit(b []byte) uint16 {
	if u.be {
		return uint16(b[0])<<8 | uint16(b[1])
	}
	return uint16(b[1])<<8 | uint16(b[0])
}
