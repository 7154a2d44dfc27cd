// Package image is the source of container images: images in a registry
// (REF is registry/repo:tag or registry/repo@sha256:…) and images saved to
// disk (a `docker save` tarball, an OCI layout directory). It reads them
// with go-containerregistry, which handles registry auth (the Docker config
// and its credential helpers), manifest lists / OCI indexes, and the Docker
// and OCI media types and layer compressions (gzip, zstd).
//
// What is scanned, for each image (each platform of a multi-arch index, or
// the one --platform names):
//   - every file of every layer, including files a later layer deletes
//     (whiteouts) or overwrites: a key removed by a later `RUN rm .env` is
//     still in the image. Layers are read from the top one down, so each
//     file is known to be in the final image or not: InHead is false for a
//     file not in the final image. Nested archives in layer files are
//     opened as for files on disk.
//   - the image config as its own items (Kind "image-config"): Config.Env
//     (ENV lines, build args baked in), Config.Labels, Config.Cmd and
//     Config.Entrypoint, and the history's created_by commands (one line
//     per history entry, as `docker history` shows them).
//
// Locations: Repo is the image (the REF as given, or the tarball's path,
// with " [os/arch]" for one platform of an index), Commit the layer digest
// (sha256:…), Message the history command that created the layer, Date and
// Author that history entry's, Path the file's absolute path in the image.
// Layers shared by several platforms are scanned once (by digest).
//
// Bounds: each layer is bounded by the archive limits (MaxTotalBytes of
// uncompressed bytes, MaxRatio against its compressed size once past
// RatioWindow, MaxEntries files); a layer that fails (a limit, a truncated
// or corrupt stream, a registry error) is reported through OnError and the
// sweep goes on with the next layer or image. Symbolic links in layers are
// never followed.
//
// Done (issue 17 §4): registry refs, tags and digests, multi-arch and
// --platform, docker save / OCI layout tarballs and directories, whiteouts,
// config and history, archive limits per layer, anonymous / Docker config /
// token auth, gzip and zstd layers decompressed with klauspost/compress
// and read ahead in a goroutine, the compressed layers below the one being
// scanned decompressed ahead by up to Workers-1 more goroutines
// (prefetch.go), and the files of a layer scanned by a pool of Workers
// goroutines (handoff.go).
//
// Digests: a registry's blob is checked against its digest as it is read
// (go-containerregistry), to its end before any of it is scanned, also
// when the layer is cut short by a limit (the rest is read, not
// inflated): a mismatch is a *DigestError and nothing of the layer is
// scanned; a cut layer whose rest cannot be read is scanned and reported
// as unverified (*UnverifiedError). The blobs of an OCI layout or a docker
// save tarball on disk are not checked: their manifest comes from the same
// place.
//
// Images are scanned Workers at a time; the layers of one image are
// read one at a time, top down, which the whiteout tracking relies on
// (a layer's files are in the final image unless a layer above hides
// them), and their files handed to the pool. Decompressing is what costs
// (about 80% of the CPU time of a gzip image, the detector engine most of
// the rest), so the compressed layers below are decompressed meanwhile
// into temporary files (os.TempDir, so TMPDIR; removed once scanned, at
// most Workers-1 at a time, each bounded by MaxTotalBytes): memory stays
// bounded, the disk holds a few layers. A plain tar layer of a layout is
// only read, by the scan itself.
// make bench-image measures it against detect files (docs/BENCH.md).
//
// Next: _catalog listing of a registry; resume and --shard for long image
// lists.
package image

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"

	"github.com/bks-dev/bks/sources"
	"github.com/bks-dev/bks/sources/files"
)

// KindConfig is the Origin.Kind of image config and history items.
const KindConfig = "image-config"

// Options configure an image source.
type Options struct {
	// Refs are images in registries: registry/repo:tag or @sha256:….
	Refs []string
	// Tarballs are images on disk: `docker save` tarballs, OCI layout
	// directories, or tarballs of an OCI layout.
	Tarballs []string
	// Platform, when set, selects one platform of multi-arch indexes
	// ("linux/arm64"); otherwise every platform is scanned.
	Platform string
	// Token, when set, is sent as a registry bearer token; otherwise
	// credentials come from the Docker config and credential helpers
	// (authn.DefaultKeychain), anonymous when there are none.
	Token string
	// Workers is how many images are scanned at once; GOMAXPROCS if 0.
	// Above 1, it also lets Workers-1 compressed layers below the one
	// being read be inflated ahead (prefetch.go), and the files of layers
	// be scanned by Workers goroutines (handoff.go): docs/BENCH.md has
	// the figures; 1 turns both off.
	Workers int
	// Transport replaces the HTTP transport (tests); nil: the default.
	Transport http.RoundTripper
	// OnError receives errors about one image or layer that did not stop
	// the sweep. When nil, Chunks returns them, joined.
	OnError sources.ErrorHandler
	// MaxFileSize skips, reporting an error wrapping files.ErrTooLarge,
	// layer files larger than this many bytes; 0: no cap.
	MaxFileSize int64
	// NoArchives scans archives inside layers as raw bytes.
	NoArchives bool
	// ArchiveLimits bound each layer and archives nested in its files.
	ArchiveLimits files.ArchiveLimits
	// Exclude is asked about every file in a layer (its path in the image)
	// and archive members in it; true skips it.
	Exclude func(path string, isDir bool) bool
}

// Source is the image source. Build it with New.
type Source struct {
	opts Options
}

var _ sources.Source = (*Source)(nil)

// New returns a source scanning the images opts names. Chunks calls yield
// from several goroutines at once (Workers images at a time).
func New(opts Options) *Source {
	return &Source{opts: opts}
}

// Chunks scans every image, Workers at a time; the layers of one image are
// scanned one at a time, from the top one down, those below inflated ahead.
func (s *Source) Chunks(ctx context.Context, split sources.Chunker, yield func(sources.Chunk) error) error {
	var mu sync.Mutex
	var errs []error
	onError := s.opts.OnError
	if onError == nil {
		onError = func(path string, err error) {
			mu.Lock()
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
			mu.Unlock()
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	workers := s.opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	g.SetLimit(workers)
	sw := &sweep{
		opts:    &s.opts,
		split:   split,
		yield:   yield,
		onError: onError,
		limits:  s.opts.ArchiveLimits.WithDefaults(),
		seen:    map[v1.Hash]*seenLayer{},
		g:       g,
	}
	if s.opts.Platform != "" {
		p, err := v1.ParsePlatform(s.opts.Platform)
		if err != nil {
			return fmt.Errorf("--platform %q: %w", s.opts.Platform, err)
		}
		sw.platform = p
	}
	// The pool's goroutines end when it is closed, below: nothing returns
	// between here and there.
	if workers > 1 { // see Workers
		sw.tokens = make(chan struct{}, workers-1)
		sw.pool = newScanPool(ctx, sw, workers) // not gctx: Wait cancels it before the pool is done
	}
	defer sw.cleanup()
	err := sw.list(gctx)
	if werr := g.Wait(); werr != nil {
		err = werr
	}
	if sw.pool != nil {
		if perr := sw.pool.close(); perr != nil && err == nil {
			err = perr
		}
	}
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// list hands every image named to the workers. It returns only ctx's
// error.
func (sw *sweep) list(ctx context.Context) error {
	for _, ref := range sw.opts.Refs {
		if err := sw.remote(ctx, ref); err != nil {
			return err
		}
	}
	for _, path := range sw.opts.Tarballs {
		if err := sw.tarball(ctx, path); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// remoteOptions are the registry options: auth, transport, context.
func (sw *sweep) remoteOptions(ctx context.Context) []remote.Option {
	o := []remote.Option{remote.WithContext(ctx), remote.WithUserAgent("bks")}
	if sw.opts.Token != "" {
		o = append(o, remote.WithAuth(&authn.Bearer{Token: sw.opts.Token}))
	} else {
		o = append(o, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	}
	if sw.opts.Transport != nil {
		o = append(o, remote.WithTransport(sw.opts.Transport))
	}
	if p := runtime.GOMAXPROCS(0); p > 0 {
		o = append(o, remote.WithJobs(p))
	}
	return o
}

// remote scans one image or index in a registry. Only a failing yield or
// ctx stops the sweep; other errors are reported under ref.
func (sw *sweep) remote(ctx context.Context, ref string) error {
	r, err := name.ParseReference(ref)
	if err != nil {
		sw.onError(ref, fmt.Errorf("image reference: %w", err))
		return nil
	}
	desc, err := remote.Get(r, sw.remoteOptions(ctx)...)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		sw.onError(ref, fmt.Errorf("registry: %w", err))
		return nil
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			sw.onError(ref, fmt.Errorf("index: %w", err))
			return nil
		}
		return sw.index(ctx, ref, idx, readChecked)
	}
	img, err := desc.Image()
	if err != nil {
		sw.onError(ref, fmt.Errorf("image: %w", err))
		return nil
	}
	return sw.submit(ctx, ref, img, readChecked)
}
