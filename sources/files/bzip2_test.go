package files

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// bz2 compresses data with the bzip2 tool (the standard library reads
// bzip2 but cannot write it) in blocks of level×100 kB.
func bz2(t testing.TB, level int, data []byte) []byte {
	t.Helper()
	if _, err := exec.LookPath("bzip2"); err != nil {
		t.Skip("bzip2 not installed (scripts/install-test-tools.sh installs it)")
	}
	cmd := exec.Command("bzip2", "-c", fmt.Sprintf("-%d", level))
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBzip2 is the ".bz2 files are silently not opened": a bzip2
// layer is opened as a gzip one is (the same path, tar inside, the archive
// limits, truncation reported). Before, the key inside was not found.
func TestBzip2(t *testing.T) {
	env := []byte("K=" + keyLong + "\n")
	var log bytes.Buffer // compresses poorly: several bzip2 -1 blocks
	for i := 0; log.Len() < 400_000; i++ {
		fmt.Fprintf(&log, "%08x line %d of a log that goes on %x\n", i*2654435761, i, i*i*40503)
	}
	whole := bz2(t, 1, append(append([]byte(nil), env...), log.Bytes()...))
	tests := []struct {
		name     string
		data     []byte
		limits   ArchiveLimits
		wantHits []string
		wantErr  string // in the errors; "" for none
	}{
		{name: "bz2", data: bz2(t, 9, env), wantHits: []string{"a"}},
		{name: "tar.bz2", data: bz2(t, 9, makeTar(t, member{name: "k.env", data: env})), wantHits: []string{"a!k.env"}},
		{name: "concatenated streams", data: append(bz2(t, 9, []byte("nothing\n")), bz2(t, 9, env)...), wantHits: []string{"a"}},
		{name: "truncated: the blocks before the cut are scanned", data: whole[:len(whole)*3/4], wantHits: []string{"a"}, wantErr: "truncated archive"},
		{name: "ratio", data: bz2(t, 9, make([]byte, 4<<20)), limits: ArchiveLimits{RatioWindow: 1 << 20}, wantErr: "MaxRatio"},
		{name: "depth: bzip2 is a layer", data: bz2(t, 9, makeTar(t, member{name: "k.env", data: env})), limits: ArchiveLimits{MaxDepth: 1}, wantErr: "MaxDepth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := scanBytes(t, Options{ArchiveLimits: tt.limits}, "a", tt.data)
			var got []string
			for _, h := range res.hits {
				got = append(got, h.Path)
			}
			if strings.Join(got, ",") != strings.Join(tt.wantHits, ",") {
				t.Errorf("hits = %v, want %v (errors: %s)", res.hits, tt.wantHits, res.errText())
			}
			if tt.wantErr == "" && len(res.errs) > 0 || !strings.Contains(res.errText(), tt.wantErr) {
				t.Errorf("errors = %q, want %q", res.errText(), tt.wantErr)
			}
		})
	}
	if f := sniffArchive(whole[:headLen]); f != formatBzip2 {
		t.Errorf("sniffArchive(bz2) = %d, want formatBzip2", f)
	}
	if f := sniffArchive([]byte("BZh9 is how a bzip2 stream starts\n")); f != formatNone {
		t.Errorf("sniffArchive(text starting BZh9) = %d, want formatNone", f)
	}
}
