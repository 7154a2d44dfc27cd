package cli

import (
	"archive/zip"
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bks-dev/bks/internal/testkeys"
)

// TestArchiveLimitFlagsAndConfig: the 1 MiB repetitive log in a
// zip passes by default; the ratio limits are flags and [archive] config
// keys, the flag winning.
func TestArchiveLimitFlagsAndConfig(t *testing.T) {
	key := testkeys.LongTerm("BedrockAPIKey-ziplog", "111122223333", testkeys.Secret(73))
	line := []byte("2026-12-07T01:00:00Z INFO health check ok status=200 latency_ms=1\n")
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	w, err := zw.Create("app.log")
	if err != nil {
		t.Fatal(err)
	}
	w.Write(bytes.Repeat(line, (2<<20)/len(line)))
	w.Write([]byte("AWS_BEARER_TOKEN_BEDROCK=" + key + "\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	tree := writeTree(t, map[string]string{"logs.zip": zbuf.String()})
	strict := writeTree(t, map[string]string{"logs.zip": zbuf.String(), ".bks.toml": "[archive]\nratio_window = 1048576\n"})
	tests := []struct {
		name string
		args []string
		code int
		want string // on stderr
	}{
		{"default: the log passes", []string{tree}, 1, ""},
		{"a smaller window cuts it", []string{"--archive-ratio-window", "1048576", tree}, 2, "MaxRatio"},
		{"and a higher ratio lets it pass", []string{"--archive-ratio-window", "1048576", "--archive-max-ratio", "5000", tree}, 1, ""},
		{"config key", []string{strict}, 2, "MaxRatio"},
		{"flag over config", []string{"--archive-max-ratio", "-1", strict}, 1, ""},
		{"total bytes", []string{"--archive-max-total-bytes", "1000", "--archive-max-entries", "10", "--archive-max-depth", "2", filepath.Join(tree, "logs.zip")}, 2, "MaxTotalBytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "", append([]string{"detect", "files", "--format", "jsonl"}, tt.args...)...)
			if code != tt.code || (tt.want != "" && !strings.Contains(errOut, tt.want)) || (tt.want == "" && withoutConfigLine(errOut) != "") {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errOut, tt.code, tt.want)
			}
			if tt.code == 1 && !strings.Contains(out, "BedrockAPIKey-ziplog") {
				t.Errorf("the key after 2 MiB was not found: %s", out)
			}
		})
	}
}
