package testkeys

import (
	"bytes"
	"math/rand/v2"
)

// SourceText returns n bytes of text shaped like source code — identifiers,
// punctuation, base64-ish blobs, newlines — full of near-misses of the key
// prefixes and holding no key: the input of the engine benchmarks.
func SourceText(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	words := []string{"func", "return", "if", "err", "nil", "bedrock", "api", "key", "ABS", "AES", "SK",
		"import", "client", "token", "BEARER", "AWS", "config", "region", "us-east-1", "data",
		"const", "var", "string", "int", "ctx", "context", "check-", "lock-api", "-key-", "AEAB", "QUJT"}
	var b bytes.Buffer
	for b.Len() < n {
		switch r.IntN(20) {
		case 0:
			b.WriteByte('\n')
		case 1:
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
