package detectors

import (
	"bytes"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/bks-dev/bks/internal/testkeys"
)

// The access key detector as it was before it was made cheap per hit
// (commit e005498): the reference the fast one must agree with, match for
// match, field for field.

func refAccessKeyCheck(rule string, data []byte, pos int) (Match, bool) {
	end := pos + AccessKeyIDLen
	if pos < 0 || end > len(data) {
		return Match{}, false
	}
	if p := string(data[pos : pos+4]); p != "AKIA" && p != "ASIA" {
		return Match{}, false
	}
	if pos > 0 && isWordChar(data[pos-1]) || end < len(data) && isWordChar(data[end]) {
		return Match{}, false
	}
	for _, c := range data[pos+4 : end] {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return Match{}, false
		}
	}
	id := string(data[pos:end])
	k := Key{Type: TypeAccessKey, Service: ServiceIAM, AccessKeyID: id}
	if acct, ok := refAccountFromKeyID(id); ok {
		k.AccountID = acct
	}
	key := id
	if s, e, ok := refPairSecret(data, pos, end); ok {
		secret := data[s:e]
		key = id + ":" + string(secret)
		k.SecretLength = len(secret)
		k.SecretSHA256 = shortHash(secret)
	}
	return Match{Rule: rule, Start: pos, End: end, Key: key, Decoded: k}, true
}

func refAccountFromKeyID(id string) (account string, ok bool) {
	if strings.IndexByte("QRSTUVWXYZ234567", id[4]) < 0 {
		return "", false
	}
	var b [10]byte
	n, err := base32.StdEncoding.Decode(b[:], []byte(id[4:20]))
	if err != nil || n != 10 {
		return "", false
	}
	var z [8]byte
	copy(z[2:], b[:6])
	v := binary.BigEndian.Uint64(z[:])
	return fmt.Sprintf("%012d", (v&0x7fffffffff80)>>7), true
}

// TestAccountFromKeyIDMatchesReference covers the whole range of the
// account field, 13-digit values included.
func TestAccountFromKeyIDMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		var b [10]byte
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		switch i {
		case 0:
			b = [10]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		case 1:
			b = [10]byte{0x80}
		}
		id := "AKIA" + base32.StdEncoding.EncodeToString(b[:])
		want, wok := refAccountFromKeyID(id)
		got, ok := AccountFromKeyID(id)
		if got != want || ok != wok {
			t.Fatalf("%s: %q %v, want %q %v", redactAll(id), got, ok, want, wok)
		}
	}
}

// TestAccountFromKeyIDAnyCharacters: on ids holding characters outside
// the base32 alphabet ([A-Z0-9] ids hold 0, 1, 8 and 9; and padding, line
// breaks, lower case, which encoding/base32 treats each its own way), the
// decoder refuses exactly what the reference refuses.
func TestAccountFromKeyIDAnyCharacters(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	const odd = "=\n\r a1890z"
	for i := range 50000 {
		b := []byte("AKIA")
		for range 16 {
			b = append(b, alpha[r.IntN(len(alpha))])
		}
		if i%3 == 0 {
			b[4+r.IntN(16)] = odd[r.IntN(len(odd))]
		}
		id := string(b)
		want, wok := refAccountFromKeyID(id)
		got, ok := AccountFromKeyID(id)
		if got != want || ok != wok {
			t.Fatalf("%q: %q %v, want %q %v", redactAll(id), got, ok, want, wok)
		}
	}
}

func FuzzAccountFromKeyID(f *testing.F) {
	f.Add("AKIA" + "QAAAAAAAAAAAAAAA")
	f.Add("ASIA" + "7777777777777777")
	f.Add("AKIA" + "QAAAAAAA========")
	f.Fuzz(func(t *testing.T, id string) {
		if len(id) != 20 {
			return
		}
		want, wok := refAccountFromKeyID(id)
		got, ok := AccountFromKeyID(id)
		if got != want || ok != wok {
			t.Fatalf("%q: %q %v, want %q %v", redactAll(id), got, ok, want, wok)
		}
	})
}

func refPairSecret(data []byte, idStart, idEnd int) (start, end int, ok bool) {
	lo := max(0, idStart-pairBytes)
	for n, i := 0, idStart; ; n++ {
		j := bytes.LastIndexByte(data[lo:i], '\n')
		if j < 0 {
			break
		}
		if n == pairLines {
			lo += j + 1
			break
		}
		i = lo + j
	}
	hi := min(len(data), idEnd+pairBytes)
	for n, i := 0, idEnd; ; n++ {
		j := bytes.IndexByte(data[i:hi], '\n')
		if j < 0 {
			break
		}
		if n == pairLines {
			hi = i + j
			break
		}
		i += j + 1
	}
	type cand struct{ s, e, lines, after, dist int }
	var best *cand
	for i := lo; i < hi; {
		if !isSecretChar(data[i]) {
			i++
			continue
		}
		j := i
		for j < hi && isSecretChar(data[j]) {
			j++
		}
		s, e := i, j
		i = j
		if e-s != secretLen || e > idStart && s < idEnd {
			continue
		}
		if s == lo && s > 0 && isSecretChar(data[s-1]) || e == hi && e < len(data) && isSecretChar(data[e]) {
			continue
		}
		if !looksLikeSecret(data[s:e]) {
			continue
		}
		c := cand{s: s, e: e}
		if s >= idEnd {
			c.lines = bytes.Count(data[idEnd:s], []byte{'\n'})
			c.dist = s - idEnd
		} else {
			c.lines = bytes.Count(data[e:idStart], []byte{'\n'})
			c.dist = idStart - e
			c.after = 1
		}
		if best == nil || c.lines < best.lines ||
			c.lines == best.lines && (c.after < best.after || c.after == best.after && c.dist < best.dist) {
			best = &c
		}
	}
	if best == nil {
		return 0, 0, false
	}
	return best.s, best.e, true
}

// denseAccessKeyText is text full of access key ids and of runs that look
// like secrets or almost do, at every distance from the ids: what the
// pairing and the boundary checks must agree on.
func denseAccessKeyText(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 5))
	const upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	const secret = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	run := func(alpha string, n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[r.IntN(len(alpha))]
		}
		return string(b)
	}
	seps := []string{" ", "\n", "\r\n", "=", ":", "\"", "/", "+", "_", "x", ",", "\t", "\n\n\n", "%2F"}
	var b strings.Builder
	for b.Len() < n {
		switch r.IntN(14) {
		case 0, 1:
			b.WriteString([]string{"AKIA", "ASIA"}[r.IntN(2)] + run(upper, 16))
		case 2:
			b.WriteString(testkeys.AccessKeyID("AKIA", fmt.Sprintf("%012d", r.IntN(1e12)), r.Uint64()))
		case 3:
			b.WriteString("AKIAIOSFODNN7" + "EXAMPLE")
		case 4:
			b.WriteString(testkeys.AccessKeySecret(r.Uint64()))
		case 5:
			b.WriteString(run(secret, 38+r.IntN(5)))
		case 6:
			b.WriteString(run("0123456789abcdef", 40))
		case 7:
			b.WriteString(run(upper, 1+r.IntN(24)))
		case 8:
			b.WriteString(strings.Repeat("word ", r.IntN(500)))
		case 9:
			b.WriteString([]string{"AKIA", "ASIA", "AKI", "akia"}[r.IntN(4)])
		default:
			b.WriteString(run(secret, r.IntN(12)))
		}
		b.WriteString(seps[r.IntN(len(seps))])
	}
	return []byte(b.String()[:n])
}

// TestAccessKeyMatchesReference: the detector returns exactly what the
// reference returns at every position of text dense with ids and
// secret-like runs, windows cut at random.
func TestAccessKeyMatchesReference(t *testing.T) {
	d := accessKey()
	// The dropping detector returns the same, less the ids with EXAMPLE.
	dd := NewAccessKeyDropping("aws-access-key", []string{"AKIA", "ASIA"}, []string{"EXAMPLE"})
	hits, paired, dropped := 0, 0, 0
	for seed := range uint64(8) {
		data := denseAccessKeyText(1<<17, seed)
		for pos := -1; pos <= len(data); pos++ {
			want, wok := refAccessKeyCheck("aws-access-key", data, pos)
			got, ok := d.Check(data, pos, 0)
			if ok != wok || !reflect.DeepEqual(got, want) {
				t.Fatalf("seed %d at %d: got %v %+v, want %v %+v", seed, pos, ok, got.Decoded, wok, want.Decoded)
			}
			if ok {
				hits++
				if want.Decoded.SecretLength > 0 {
					paired++
				}
			}
			got, ok = dd.Check(data, pos, 0)
			if wok && strings.Contains(want.Decoded.AccessKeyID, "EXAMPLE") {
				wok, want = false, Match{}
				dropped++
			}
			if ok != wok || !reflect.DeepEqual(got, want) {
				t.Fatalf("dropping, seed %d at %d: got %v %+v, want %v %+v", seed, pos, ok, got.Decoded, wok, want.Decoded)
			}
			// The engine skips Check where Possible says false.
			if p := dd.(Prefilter).Possible(data, pos, 0); p != wok {
				t.Fatalf("dropping, seed %d at %d: Possible %v, Check %v", seed, pos, p, wok)
			}
		}
	}
	if hits < 1500 || paired < 500 || paired == hits || dropped < 100 {
		t.Fatalf("weak corpus: %d hits, %d paired, %d dropped", hits, paired, dropped)
	}
	t.Logf("%d hits, %d paired, %d documentation examples dropped", hits, paired, dropped)
}

// bareDetector hides every method of a Detector but the interface's own
// (a Prefilter's Possible): the engine then calls Check on every hit.
type bareDetector struct{ Detector }

// TestEnginePrefilterSameMatches: the engine finds the same matches with
// the access key detector's Prefilter as without it, on text dense with
// ids (documentation examples among them), secrets and near misses.
func TestEnginePrefilterSameMatches(t *testing.T) {
	d := NewAccessKeyDropping("aws-access-key", []string{"AKIA", "ASIA"}, []string{"EXAMPLE"})
	if _, ok := d.(Prefilter); !ok {
		t.Fatal("the access key detector is no Prefilter")
	}
	with := New(Options{Extra: []Detector{d}})
	without := New(Options{Extra: []Detector{bareDetector{d}}})
	total := 0
	for seed := range uint64(4) {
		for _, data := range [][]byte{denseAccessKeyText(1<<17, seed), awsDenseText(1<<18, seed)} {
			var got, want []Match
			with.Scan(data, len(data), func(m Match) { got = append(got, m) })
			without.Scan(data, len(data), func(m Match) { want = append(want, m) })
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("seed %d: %d matches with the prefilter, %d without", seed, len(got), len(want))
			}
			total += len(got)
		}
	}
	if total < 500 {
		t.Fatalf("weak corpus: %d matches", total)
	}
}

// TestUpperDigits8: the word test agrees with [A-Z0-9] for every byte at
// every place among valid ones.
func TestUpperDigits8(t *testing.T) {
	base := []byte("AZ09QRS7")
	for at := range 8 {
		for c := range 256 {
			b := bytes.Clone(base)
			b[at] = byte(c)
			want := c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
			if got := upperDigits8(binary.LittleEndian.Uint64(b)); got != want {
				t.Fatalf("%q: %v, want %v", b, got, want)
			}
		}
	}
}

// FuzzAccessKeyReference: the detector agrees with the reference on any
// input.
func FuzzAccessKeyReference(f *testing.F) {
	f.Add(denseAccessKeyText(4096, 1), 7)
	f.Add([]byte("/"+testkeys.AccessKeySecret(1)+"\n"+testkeys.AccessKeyID("ASIA", "123456789012", 2)+"+"+testkeys.AccessKeySecret(2)), 42)
	d := accessKey()
	f.Fuzz(func(t *testing.T, data []byte, pos int) {
		want, wok := refAccessKeyCheck("aws-access-key", data, pos)
		got, ok := d.Check(data, pos, 0)
		if ok != wok || !reflect.DeepEqual(got, want) {
			t.Fatalf("at %d: got %v %+v, want %v %+v", pos, ok, got.Decoded, wok, want.Decoded)
		}
	})
}

// BenchmarkAccessKeyDense: the engine with the aws-access-key rule on
// source-like text with a documentation example id on one line in 40 and
// a real-looking id with its secret on one in 400.
//
// "every-id" reports every id (NewAccessKey); "dropping-examples" drops the
// documentation examples as scans do (NewAccessKeyDropping).
func BenchmarkAccessKeyDense(b *testing.B) {
	data := awsDenseText(4<<20, 1)
	for _, tc := range []struct {
		name string
		d    Detector
	}{
		{"every-id", accessKey()},
		{"dropping-examples", NewAccessKeyDropping("aws-access-key", []string{"AKIA", "ASIA"}, []string{"EXAMPLE"})},
	} {
		b.Run(tc.name, func(b *testing.B) {
			e := New(Options{Extra: []Detector{tc.d}})
			n := 0
			e.Scan(data, len(data), func(Match) { n++ })
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				e.Scan(data, len(data), func(Match) {})
			}
			b.ReportMetric(float64(n), "matches/op")
		})
	}
}

// BenchmarkAccessKeyOffDense is BenchmarkAccessKeyDense without the rule:
// the difference is the cost of the hits.
func BenchmarkAccessKeyOffDense(b *testing.B) {
	data := awsDenseText(4<<20, 1)
	e := New(Options{})
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		e.Scan(data, len(data), func(Match) {})
	}
}

// awsDenseText is testkeys.SourceText with an access key id line inserted
// every 40 lines.
func awsDenseText(n int, seed uint64) []byte {
	src := testkeys.SourceText(n, seed)
	lines := bytes.SplitAfter(src, []byte("\n"))
	var out bytes.Buffer
	for i, l := range lines {
		if i%40 == 39 {
			if i%400 == 399 {
				fmt.Fprintf(&out, "aws_access_key_id = %s\naws_secret_access_key = %s\n",
					testkeys.AccessKeyID("AKIA", "123456789012", uint64(i)), testkeys.AccessKeySecret(uint64(i)))
			} else {
				out.WriteString("aws_access_key_id = AKIAIOSFODNN7" + "EXAMPLE\n")
			}
		}
		out.Write(l)
	}
	return out.Bytes()[:n]
}
