package git

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/bks-dev/bks/location"

	"github.com/bks-dev/bks/sources"
	"github.com/bks-dev/bks/sources/git/internal/pack"
)

// Large blobs. The in-process reader holds a blob whole while it checks
// it (and its deltas); a 400 MB blob took 1.16 GB. A blob over streamOver
// that it can leave unread (loose, or packed whole and no delta's base:
// pack.Store.SkipOver) is not read there: it counts as a candidate, and
// once attributed, `git cat-file blob` streams it through the chunker, so
// memory stays at a chunk whatever its size. Such blobs are yielded after
// the others.

// streamOver is the size over which a blob is streamed, not held.
var streamOver int64 = 64 << 20 // a variable for tests

// splitStreamed takes the blobs to stream out of order, keeping its order
// for both.
func splitStreamed(order []int32, recs []record, stream map[plumbing.Hash]bool) (held, streamed []int32) {
	if len(stream) == 0 {
		return order, nil
	}
	for _, i := range order {
		if stream[recs[i].blob] {
			streamed = append(streamed, i)
		} else {
			held = append(held, i)
		}
	}
	return held, streamed
}

// streamBlob yields r's blob read by `git cat-file blob`, chunk by chunk.
func (h *history) streamBlob(ctx context.Context, r *record, yield func(sources.Chunk) error) error {
	origin := h.recOrigin(r)
	if st := h.s.opts.Stats; st != nil {
		st.Streamed++ // streamBlob runs on the one goroutine that yields
	}
	if h.store != nil {
		// A loose blob is inflated here as it is read (git would map the
		// whole file).
		rc, ok, err := h.store.OpenLooseBlob(pack.ID(r.blob))
		if ok {
			return h.splitStream(ctx, rc, origin, r, err, yield)
		}
	}
	// git streams a packed blob stored whole only over its
	// bigFileThreshold (512 MB by default); below, it inflates it whole.
	cmd, stdout, stderr, err := startGit(ctx, h.path, nil, "-c", fmt.Sprintf("core.bigFileThreshold=%d", streamOver), "cat-file", "blob", r.blob.String())
	if err != nil {
		return err
	}
	serr := h.splitStream(ctx, io.NopCloser(stdout), origin, r, nil, yield)
	if serr != nil {
		_ = cmd.Process.Kill()
	}
	if werr := cmd.Wait(); werr != nil && serr == nil && ctx.Err() == nil {
		h.onError(itemName(origin), fmt.Errorf("read blob %s: %v: %s", r.blob, werr, strings.TrimSpace(stderr.String())))
	}
	return serr
}

// splitStream yields rc's chunks (rc, err: what opened it) and closes it.
func (h *history) splitStream(ctx context.Context, rc io.ReadCloser, origin *location.Location, r *record, err error, yield func(sources.Chunk) error) error {
	if err != nil {
		h.onError(itemName(origin), fmt.Errorf("read blob %s: %w", r.blob, err))
		return nil
	}
	defer rc.Close()
	var yerr error
	serr := h.split.Split(rc, origin, nil, func(c sources.Chunk) error {
		yerr = yield(c)
		return yerr
	})
	switch {
	case yerr != nil:
		return yerr
	case ctx.Err() != nil:
		return ctx.Err()
	case serr != nil:
		h.onError(itemName(origin), fmt.Errorf("read blob %s: %w", r.blob, serr))
	}
	return nil
}
