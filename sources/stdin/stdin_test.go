package stdin

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/bks-dev/bks/detectors"
	"github.com/bks-dev/bks/findings"
	"github.com/bks-dev/bks/internal/testkeys"
	"github.com/bks-dev/bks/scan"
	"github.com/bks-dev/bks/sources"
	"github.com/bks-dev/bks/sources/files"
)

var key = testkeys.LongTerm("BedrockAPIKey-ab12", "123456789012", testkeys.Secret(1))

func zipOf(t *testing.T, name string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzOf(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	zw.Close()
	return buf.Bytes()
}

func utf16le(s string) []byte {
	out := []byte{0xFF, 0xFE}
	for _, r := range s {
		out = append(out, byte(r), byte(r>>8))
	}
	return out
}

func TestStdin(t *testing.T) {
	env := []byte("A=1\r\nAWS_BEARER_TOKEN_BEDROCK=" + key + "\r\n")
	// A zip past the in-memory limit goes to a temporary file.
	var bigZip []byte
	{
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: "noise.bin", Method: zip.Store})
		w.Write(bytes.Repeat([]byte("0123456789abcdef"), 20<<16)) // 20 MiB stored
		w, _ = zw.Create("big/.env")
		w.Write(env)
		zw.Close()
		bigZip = buf.Bytes()
	}
	tests := []struct {
		name string
		in   []byte
		opts Options
		size int    // chunk size; the default if 0
		want string // path:line:column:transcoded
	}{
		{"plain", env, Options{}, 0, "-:2:26:"},
		{"named", env, Options{Name: "pasted.txt"}, 0, "pasted.txt:2:26:"},
		{"utf-16", utf16le(string(env)), Options{}, 0, "-:2:26:utf-16le"},
		{"gzip", gzOf(t, env), Options{}, 0, "-:2:26:"},
		{"zip", zipOf(t, "a/.env", env), Options{Name: "upload"}, 0, "upload!a/.env:2:26:"},
		{"zip over the memory limit", bigZip, Options{}, 0, "-!big/.env:2:26:"},
		{"small chunks", append(bytes.Repeat([]byte("x\n"), 5000), env...), Options{}, 4096, "-:5002:26:"},
	}
	eng := detectors.New(detectors.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var errs []string
			tt.opts.OnError = func(p string, err error) { errs = append(errs, p+": "+err.Error()) }
			var got []string
			err := scan.Scanner{Engine: eng, ChunkSize: tt.size}.Run(context.Background(), New(bytes.NewReader(tt.in), tt.opts), func(f findings.Finding) error {
				if f.Kind != Kind || f.RawKey() != key {
					t.Errorf("finding kind %q", f.Kind)
				}
				got = append(got, fmt.Sprintf("%s:%d:%d:%s", f.Path, f.Line, f.Column, f.Transcoded))
				return nil
			})
			if err != nil || len(errs) > 0 {
				t.Fatalf("err = %v, reported %q", err, errs)
			}
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("findings = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestStdinLimitsAndErrors(t *testing.T) {
	// Something on stdin that starts like a zip and goes on past
	// MaxTotalBytes is not buffered whole.
	var reported []error
	src := New(io.MultiReader(strings.NewReader("PK\x03\x04"), strings.NewReader(strings.Repeat("y", 40<<20))), Options{
		ArchiveLimits: files.ArchiveLimits{MaxTotalBytes: 20 << 20},
		OnError:       func(_ string, err error) { reported = append(reported, err) },
	})
	if err := src.Chunks(context.Background(), sources.Chunker{}, func(sources.Chunk) error { return nil }); err != nil {
		t.Fatal(err)
	}
	var le *files.LimitError
	if len(reported) != 1 || !errors.As(reported[0], &le) || le.Limit != "MaxTotalBytes" || le.Archive != DefaultName {
		t.Errorf("reported %v, want MaxTotalBytes on -", reported)
	}

	// Without OnError, a read error is returned.
	boom := errors.New("boom")
	err := New(io.MultiReader(strings.NewReader("abc"), errReader{boom}), Options{}).Chunks(context.Background(), sources.Chunker{}, func(sources.Chunk) error { return nil })
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "-: read: boom") {
		t.Errorf("err = %v", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
