package rules

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/internal/testkeys"
)

// dense returns n bytes of adversarial text: the keywords of every rule
// (AKIA, ASIA, secret, acme) make up a tenth of the words, and there is a
// Bedrock key and an access key with its secret every ~2 KB.
func dense(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	words := []string{"func", "return", "if", "err", "nil", "bedrock", "api", "key", "ABS", "AES", "SK",
		"import", "client", "token", "BEARER", "AWS", "config", "region", "us-east-1", "data",
		"AKIA", "ASIA", "aws_access_key_id", "AKIAX", "secret", "acme", "const", "var", "ctx"}
	var b bytes.Buffer
	for b.Len() < n {
		switch r.IntN(400) {
		case 0:
			b.WriteString(testkeys.LongTerm(testkeys.ConsoleUser(r.Uint64()), "123456789012", testkeys.Secret(r.Uint64())))
		case 1:
			b.WriteString(testkeys.AccessKeyID("AKIA", "123456789012", r.Uint64()) + "\n" + awsSecret(r.Uint64()))
		case 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20:
			b.WriteByte('\n')
		case 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40:
			for range 40 + r.IntN(60) {
				b.WriteByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[r.IntN(64)])
			}
		default:
			b.WriteString(words[r.IntN(len(words))])
			b.WriteByte(" (){}.,;=\"\t"[r.IntN(11)])
		}
	}
	return b.Bytes()[:n]
}

// benchConfig is the built-in AWS access key rule plus two typical custom
// rules, one with a case-folded keyword.
const benchConfig = `
[[rules]]
id = "acme-token"
keywords = ["acme_"]
regex = '''acme_(?P<secret>[A-Za-z0-9]{32})\b'''
min_entropy = 3

[[rules]]
id = "generic-secret"
keywords = ["secret"]
regex = '''(?i)secret["']?\s*[:=]\s*["']?(?P<secret>[A-Za-z0-9/+]{24,64})'''
min_entropy = 3.5
`

// BenchmarkEngine compares the Bedrock scan alone with the same scan plus
// the extra detectors (the default ones: the AWS access key rule; and two
// custom regex rules), on the same input. `make bench`.
func BenchmarkEngine(b *testing.B) {
	cfg, err := Parse("bench.toml", []byte(benchConfig))
	if err != nil {
		b.Fatal(err)
	}
	for _, in := range []struct {
		name string
		data []byte
	}{{"source", testkeys.SourceText(4<<20, 1)}, {"dense", dense(4<<20, 1)}} {
		b.Run(in.name, func(b *testing.B) { benchEngine(b, in.data, cfg) })
	}
}

func benchEngine(b *testing.B, data []byte, cfg *Config) {
	for _, bc := range []struct {
		name  string
		extra []detectors.Detector
	}{
		{"bedrock-only", nil},
		{"with-default-rules", Default().Detectors(detectors.DecodeOptions{})},
		{"with-custom-rules", cfg.Detectors(detectors.DecodeOptions{})},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := detectors.New(detectors.Options{Extra: bc.extra})
			n := 0
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				n = 0
				e.Scan(data, len(data), func(detectors.Match) { n++ })
			}
			b.ReportMetric(float64(n), "matches")
		})
	}
}
