package huggingface

import (
	"context"

	"github.com/bks-dev/bks/sources"
	"github.com/bks-dev/bks/sources/reposweep"
)

// GitUser is the user name git sends with the token: the Hub takes any
// with a user access token as the password
// (https://huggingface.co/docs/hub/security-tokens).
const GitUser = "hf_user"

// Options configure a sweep.
type Options struct {
	Client *Client
	Target Target
	Shard  reposweep.Shard
	// LFSMaxSize and LFSMaxObjects bound the LFS objects fetched per
	// repository (DefaultLFSMaxSize, DefaultLFSMaxObjects when 0;
	// LFSMaxObjects < 0 fetches none).
	LFSMaxSize    int64
	LFSMaxObjects int
	// History scans one clone's git history (the LFS objects are scanned
	// after it). Required.
	History reposweep.ScanFunc[reposweep.Repo]
	reposweep.Run[reposweep.Repo]

	pageSize int // tests
}

// NewSweep returns a sweep of the target's repositories.
func NewSweep(o Options) *reposweep.Sweep[reposweep.Repo] {
	l := &Lister{Client: o.Client, Target: o.Target, Shard: o.Shard, OnError: o.OnError, pageSize: o.pageSize}
	lfs := &lfsScanner{client: o.Client, maxSize: o.LFSMaxSize, maxObjects: o.LFSMaxObjects, git: o.Git, onError: o.OnError, log: o.Log}
	if lfs.maxSize <= 0 {
		lfs.maxSize = DefaultLFSMaxSize
	}
	if lfs.maxObjects == 0 {
		lfs.maxObjects = DefaultLFSMaxObjects
	}
	lfs.maxObjects = max(lfs.maxObjects, 0)
	scan := func(ctx context.Context, dir string, r reposweep.Repo, split sources.Chunker, yield func(sources.Chunk) error) error {
		if err := o.History(ctx, dir, r, split, yield); err != nil {
			return err
		}
		return lfs.scan(ctx, dir, r, split, yield)
	}
	return reposweep.New(reposweep.Options[reposweep.Repo]{
		List:    l.List,
		Scan:    scan,
		Token:   o.Client.Token(),
		GitUser: GitUser,
		Links:   reposweep.GitHubLinks,
		Hosts:   o.Client.cloneHosts(),
		Run:     o.Run,
	})
}
