package cli

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/bks-dev/bks/internal/benchcorpus"
)

// BenchmarkDetectFilesAWSDense is `bks detect files --format jsonl` on a
// small AWS-dense corpus (an access key id every 40 lines, as in make
// bench's aws-dense): what each hit costs from the engine to the JSONL
// line, in process. --workers 1 keeps the figure per core. ns/finding
// divides the time by the findings reported.
func BenchmarkDetectFilesAWSDense(b *testing.B) {
	dir := b.TempDir()
	if _, _, err := benchcorpus.GenerateAWS(dir, benchcorpus.AWSOptions{Size: 16 << 20, Seed: 1, Every: 40}); err != nil {
		b.Fatal(err)
	}
	args := []string{"detect", "files", dir, "--format", "jsonl", "--workers", "1"}
	run := func(out io.Writer) {
		var errb bytes.Buffer
		code := Run(context.Background(), args, &IO{In: strings.NewReader(""), Out: out, Err: &errb, Getenv: func(string) string { return "" }})
		if code != 1 {
			b.Fatalf("exit %d: %s", code, errb.String())
		}
	}
	var out bytes.Buffer
	run(&out)
	n := bytes.Count(out.Bytes(), []byte{'\n'})
	b.ResetTimer()
	for b.Loop() {
		run(io.Discard)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/finding")
	b.ReportMetric(float64(n), "findings/op")
}
