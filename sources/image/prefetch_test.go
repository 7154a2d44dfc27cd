package image_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/bks-dev/bks/internal/testkeys"
	"github.com/bks-dev/bks/internal/testregistry"
	"github.com/bks-dev/bks/sources/image"
)

// TestLayersInflatedAhead: with Workers > 1 the layers below the one being
// scanned are inflated ahead (to temporary files); what is reported is the
// same as scanning them one by one: a key deleted by the top layer is not
// in the final image, the kept one is, and a truncated and a corrupt layer
// in the middle are each reported with their digest while the layers below
// them are still scanned.
func TestLayersInflatedAhead(t *testing.T) {
	host := testregistry.Start(t)
	gone, kept, mid := key(90), key(91), key(92)
	img, bottom := appendLayer(t, empty.Image, "COPY . /app",
		testregistry.File{Name: "app/"},
		testregistry.File{Name: "app/.env", Data: []byte("AWS_BEARER_TOKEN_BEDROCK=" + gone + "\n")},
		testregistry.File{Name: "app/keep.env", Data: []byte("KEY=" + kept + "\n")})
	cut := truncatedLayer(t)
	var err error
	junk := rawLayer{[]byte(strings.Repeat("not a tar, not gzip\n", 100))}
	for _, l := range []rawLayer{cut, junk} {
		if img, err = mutate.Append(img, mutate.Addendum{Layer: l}); err != nil {
			t.Fatal(err)
		}
	}
	img, _ = appendLayer(t, img, "COPY mid /srv", testregistry.File{Name: "srv/mid.env", Data: []byte(mid + "\n")},
		testregistry.File{Name: "srv/big", Data: []byte(testkeys.SourceText(1<<20, 2))})
	img, _ = appendLayer(t, img, "RUN rm /app/.env", testregistry.File{Name: "app/.wh..env"})
	ref := host + "/acme/deep:1"
	testregistry.Push(t, ref, img)

	before := image.Spilled()
	res := scan(t, image.Options{Refs: []string{ref}, Workers: 4}, gone, kept, mid)
	spilled := image.Spilled() - before
	t.Logf("layers inflated ahead: %d; reported: %q", spilled, res.errs)
	if spilled == 0 {
		t.Error("no layer was inflated ahead with Workers 4")
	}
	g, k, m := res.find(gone), res.find(kept), res.find(mid)
	if len(g) != 1 || g[0].Commit != bottom.String() || g[0].InHead == nil || *g[0].InHead {
		t.Errorf("deleted key: %+v, want once in layer %s, not in the final image", g, bottom)
	}
	if len(k) != 1 || k[0].InHead == nil || !*k[0].InHead {
		t.Errorf("kept key: %+v, want once, in the final image", k)
	}
	if len(m) != 1 || m[0].Path != "/srv/mid.env" || m[0].InHead == nil || !*m[0].InHead {
		t.Errorf("middle key: %+v, want /srv/mid.env once, in the final image", m)
	}
	dc, _ := cut.Digest()
	dj, _ := junk.Digest()
	for _, w := range []string{dc.String(), dj.String()} {
		if !slices.ContainsFunc(res.errs, func(e string) bool { return strings.Contains(e, w) }) {
			t.Errorf("errors %q: none names layer %s", res.errs, w)
		}
	}
	if len(res.errs) != 2 || !strings.Contains(strings.Join(res.errs, "\n"), "truncated") {
		t.Errorf("errors %q, want two: the truncated layer (as truncated) and the corrupt one", res.errs)
	}
}
