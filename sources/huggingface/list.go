package huggingface

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/bks-dev/bks/sources"
	"github.com/bks-dev/bks/sources/reposweep"
)

// kind is one kind of Hub repository: how the API lists it and where it
// lives on the Hub. The one table of them.
type kind struct {
	name   string // "model"
	api    string // "models": /api/models
	prefix string // "datasets/": https://huggingface.co/datasets/ID
}

var kinds = []kind{
	{name: "model", api: "models", prefix: ""},
	{name: "dataset", api: "datasets", prefix: "datasets/"},
	{name: "space", api: "spaces", prefix: "spaces/"},
}

// Target says what to sweep. Authors are organizations or users (the Hub
// lists both the same way); the others name repositories, "owner/name".
type Target struct {
	Authors                  []string
	Models, Datasets, Spaces []string
}

func (t Target) named() [][]string { return [][]string{t.Models, t.Datasets, t.Spaces} } // in kinds' order

func (t Target) empty() bool {
	n := len(t.Authors)
	for _, ids := range t.named() {
		n += len(ids)
	}
	return n == 0
}

// pageSize is the limit asked for per page.
const pageSize = 100

// Lister lists the repositories of a target.
type Lister struct {
	Client *Client
	Target Target
	Shard  reposweep.Shard
	// OnError receives the items that could not be listed (an author's
	// models, a named Space); the listing goes on.
	OnError sources.ErrorHandler

	pageSize int // tests
}

type repoInfo struct {
	ID string `json:"id"`
}

// List returns the target's repositories in the shard, sorted, each once.
// It fails only when every item failed, or ctx is done.
func (l *Lister) List(ctx context.Context) ([]reposweep.Repo, error) {
	if l.Target.empty() {
		return nil, errors.New("huggingface: nothing to list: give an organization, a user, a model, a dataset or a Space")
	}
	seen := map[string]bool{}
	var out []reposweep.Repo
	add := func(k kind, id string) {
		r := l.repo(k, id)
		if key := strings.ToLower(r.FullName); !seen[key] && l.Shard.Has(r.FullName) {
			seen[key] = true
			out = append(out, r)
		}
	}
	le := &reposweep.ListErrors{OnError: l.OnError}
	for _, a := range l.Target.Authors {
		for _, k := range kinds {
			le.Do(k.api+" of "+a, func() error { return l.listAuthor(ctx, k, a, add) })
		}
	}
	for i, ids := range l.Target.named() {
		k := kinds[i]
		for _, id := range ids {
			le.Do(k.name+" "+id, func() error {
				if err := l.getOne(ctx, k, id); err != nil {
					return err
				}
				add(k, id)
				return nil
			})
		}
	}
	if err := le.Err(ctx, "huggingface"); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].FullName) < strings.ToLower(out[j].FullName) })
	return out, nil
}

// repo describes the repository id of kind k: named "datasets/owner/name"
// (the Hub's own path) so that a model and a Space of the same name stay
// apart.
func (l *Lister) repo(k kind, id string) reposweep.Repo {
	web := l.Client.Endpoint() + "/" + k.prefix + id
	r := reposweep.Repo{FullName: k.prefix + id, HTMLURL: web, CloneURL: web}
	r.Owner, r.Name, _ = strings.Cut(id, "/")
	return r
}

// listAuthor pages through an author's repositories of kind k, following
// the Link header.
func (l *Lister) listAuthor(ctx context.Context, k kind, author string, add func(kind, string)) error {
	size := l.pageSize
	if size <= 0 {
		size = pageSize
	}
	q := url.Values{"author": {author}, "limit": {strconv.Itoa(size)}}
	u := l.Client.Endpoint() + "/api/" + k.api + "?" + q.Encode()
	for page := 1; u != ""; page++ {
		var list []repoInfo
		next, err := l.Client.get(ctx, u, &list)
		if err != nil {
			return fmt.Errorf("list (page %d): %w", page, err)
		}
		for _, r := range list {
			if validID(r.ID) {
				add(k, r.ID)
			}
		}
		u = next
	}
	return nil
}

func (l *Lister) getOne(ctx context.Context, k kind, id string) error {
	if !validID(id) {
		return fmt.Errorf("want OWNER/NAME")
	}
	var info repoInfo
	_, err := l.Client.get(ctx, l.Client.Endpoint()+"/api/"+k.api+"/"+id, &info)
	return err
}

// validID: "owner/name", neither part empty nor a path trick.
func validID(id string) bool {
	o, n, ok := strings.Cut(id, "/")
	return ok && o != "" && n != "" && !strings.ContainsAny(n, "/?#") && o != ".." && n != ".." && o != "." && n != "."
}
