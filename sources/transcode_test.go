package sources

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"testing/iotest"
	"unicode/utf16"
	"unicode/utf8"
)

func encodeUTF16(s string, be bool, bom bool) []byte {
	var b []byte
	var order binary.AppendByteOrder = binary.LittleEndian
	if be {
		order = binary.BigEndian
	}
	if bom {
		b = order.AppendUint16(b, 0xFEFF)
	}
	for _, u := range utf16.Encode([]rune(s)) {
		b = order.AppendUint16(b, u)
	}
	return b
}

// referenceUTF16 is the whole-buffer decoding the streaming reader must
// reproduce.
func referenceUTF16(b []byte, be bool) []byte {
	units := make([]uint16, len(b)/2)
	for i := range units {
		if be {
			units[i] = binary.BigEndian.Uint16(b[2*i:])
		} else {
			units[i] = binary.LittleEndian.Uint16(b[2*i:])
		}
	}
	s := string(utf16.Decode(units))
	if len(b)%2 == 1 {
		s += string(utf8.RuneError)
	}
	return []byte(s)
}

func TestSniffUTF16(t *testing.T) {
	text := "AWS_BEARER_TOKEN_BEDROCK=ABSKxyz\r\nother line\n"
	tests := []struct {
		name    string
		head    []byte
		wantEnc string
		wantBOM int
	}{
		{"le bom", encodeUTF16(text, false, true), UTF16LE, 2},
		{"be bom", encodeUTF16(text, true, true), UTF16BE, 2},
		{"le no bom", encodeUTF16(text, false, false), UTF16LE, 0},
		{"be no bom", encodeUTF16(text, true, false), UTF16BE, 0},
		{"le bom only", []byte{0xFF, 0xFE}, UTF16LE, 2},
		{"utf-32le bom", []byte{0xFF, 0xFE, 0, 0, 'a', 0, 0, 0}, "", 0},
		{"utf-8", []byte(text), "", 0},
		{"utf-8 bom", append([]byte{0xEF, 0xBB, 0xBF}, text...), "", 0},
		{"too short", encodeUTF16("ab", false, false), "", 0},
		{"binary zeros", make([]byte, 64), "", 0},
		{"int16 samples", []byte{1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0}, "", 0},
		{"mostly binary", append(encodeUTF16("ab", false, false), 0, 0, 0, 0, 1, 2, 3, 4), "", 0},
		{"non-latin no bom", encodeUTF16("日本語のテキストです", false, false), "", 0},
		{"long le: only head counts", append(encodeUTF16(string(bytes.Repeat([]byte("x"), 400)), false, false), make([]byte, 4096)...), UTF16LE, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, bom := SniffUTF16(tt.head)
			if enc != tt.wantEnc || bom != tt.wantBOM {
				t.Errorf("SniffUTF16 = %q, %d; want %q, %d", enc, bom, tt.wantEnc, tt.wantBOM)
			}
		})
	}
}

func TestUTF16Reader(t *testing.T) {
	long := string(bytes.Repeat([]byte("key=ABSK0123456789 😀 é\r\n"), 5000)) // crosses many blocks
	tests := []struct {
		name string
		in   []byte
		be   bool
		want string
	}{
		{"ascii le", encodeUTF16("hello\nworld", false, false), false, "hello\nworld"},
		{"ascii be", encodeUTF16("hello\nworld", true, false), true, "hello\nworld"},
		{"bmp and astral", encodeUTF16("é€😀x", false, false), false, "é€😀x"},
		{"long le", encodeUTF16(long, false, false), false, long},
		{"long be", encodeUTF16(long, true, false), true, long},
		{"lone high at end", []byte{'a', 0, 0x3D, 0xD8}, false, "a\uFFFD"},
		{"lone low", []byte{0x00, 0xDC, 'a', 0}, false, "\uFFFDa"},
		{"high then ascii", []byte{0x3D, 0xD8, 'a', 0}, false, "\uFFFDa"},
		{"odd byte", []byte{'a', 0, 'b'}, false, "a\uFFFD"},
		{"empty", nil, false, ""},
	}
	readers := map[string]func(io.Reader) io.Reader{
		"plain":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
		"data+eof": iotest.DataErrReader,
	}
	for _, tt := range tests {
		for rname, wrap := range readers {
			t.Run(tt.name+"/"+rname, func(t *testing.T) {
				got, err := io.ReadAll(NewUTF16Reader(wrap(bytes.NewReader(tt.in)), tt.be))
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != tt.want {
					t.Errorf("got %q, want %q", trunc(got), trunc([]byte(tt.want)))
				}
			})
		}
	}
	// The reader follows iotest's contract for readers.
	if err := iotest.TestReader(NewUTF16Reader(bytes.NewReader(encodeUTF16(long, false, false)), false), []byte(long)); err != nil {
		t.Error(err)
	}
}

func TestUTF16ReaderError(t *testing.T) {
	boom := errors.New("boom")
	r := NewUTF16Reader(io.MultiReader(bytes.NewReader(encodeUTF16("abc", false, false)), iotest.ErrReader(boom)), false)
	got, err := io.ReadAll(r)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
	if string(got) != "abc" {
		t.Errorf("got %q before the error, want %q", got, "abc")
	}
}

func trunc(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}

// FuzzUTF16 checks that the streaming transcoder, whatever the read sizes,
// equals the whole-buffer decoding of unicode/utf16, and that sniffing never
// panics and is consistent with the BOM.
func FuzzUTF16(f *testing.F) {
	f.Add([]byte("a\x00b\x00c\x00d\x00"), false, uint8(1))
	f.Add(encodeUTF16("é😀\nABSK", true, true), true, uint8(3))
	f.Add([]byte{0x3D, 0xD8, 0x00, 0xDE, 0x3D}, false, uint8(2))
	f.Add([]byte{0xFF, 0xFE, 0x00, 0xDC}, false, uint8(0))
	f.Fuzz(func(t *testing.T, in []byte, be bool, step uint8) {
		enc, bom := SniffUTF16(in)
		if bom != 0 && bom != 2 || bom > len(in) {
			t.Fatalf("bom = %d", bom)
		}
		if bom == 2 && enc == "" || enc != "" && enc != UTF16LE && enc != UTF16BE {
			t.Fatalf("enc = %q, bom = %d", enc, bom)
		}
		want := referenceUTF16(in, be)
		var r io.Reader = &steppedReader{b: in, step: int(step%17) + 1}
		got, err := io.ReadAll(NewUTF16Reader(r, be))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("streaming = %q, whole = %q", got, want)
		}
		if !utf8.Valid(got) {
			t.Fatalf("output is not UTF-8: %q", got)
		}
	})
}

// steppedReader returns at most step bytes per call.
type steppedReader struct {
	b    []byte
	step int
}

func (s *steppedReader) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), s.step)], s.b)
	s.b = s.b[n:]
	return n, nil
}
