package image

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// TestDrainErrorIsDigestErrorOnlyWhenVerifying: at the end of a layer's
// uncompressed stream its blob is read to its end; an error there is a
// *DigestError (its bytes do not match: nothing scanned) only when it is
// go-containerregistry's verification failing. Any other error (the rest
// of a stored blob unreadable: a layout's blob is not verified, and its
// files were already scanned, streamed) is a read error. Internal: with
// blobs in files, neither gzip (multistream: it reads its input to its
// end) nor zstd nor a plain tar (the blob itself) leaves the drain
// anything that can fail, so no layout on disk reaches it.
func TestDrainErrorIsDigestErrorOnlyWhenVerifying(t *testing.T) {
	verify := errors.New("error verifying sha256 checksum after reading 3 bytes; got sha256:0, want sha256:1")
	for _, tc := range []struct {
		blobErr error
		digest  bool
	}{
		{io.ErrUnexpectedEOF, false},
		{verify, true},
	} {
		s := &layerStream{r: strings.NewReader("tar"), blob: io.MultiReader(strings.NewReader("rest"), errReader{tc.blobErr}), closeDec: func() {}}
		_, err := io.ReadAll(s)
		var de *DigestError
		if errors.As(err, &de) != tc.digest || !errors.Is(err, tc.blobErr) {
			t.Errorf("blob ending with %v: stream error %v (%T), want a DigestError: %v", tc.blobErr, err, err, tc.digest)
		}
	}
}
