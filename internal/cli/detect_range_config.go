package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bks-dev/bks/rules"
	gitsrc "github.com/bks-dev/bks/sources/git"
)

// revFile is a configuration or baseline file of a `detect git --range`
// run: its text at the base and at the head commit when it is part of the
// repository, else (a file outside it, which a pull request cannot change)
// the file on disk for both.
type revFile struct {
	name           string // as shown
	base, head     []byte
	inBase, inHead bool
}

// readRevFile reads file (a path on disk; rel, its slash path in the
// repository, or "" when outside it) at base and head of the repository at
// repo.
func readRevFile(ctx context.Context, repo, file, rel, base, head string) (revFile, error) {
	f := revFile{name: file}
	if rel == "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return f, fmt.Errorf("read %s: %w", file, err)
		}
		f.base, f.head, f.inBase, f.inHead = data, data, true, true
		return f, nil
	}
	var err error
	if f.base, f.inBase, err = gitsrc.FileAt(ctx, repo, base, rel); err != nil {
		return f, fmt.Errorf("%s at the base commit: %w", file, err)
	}
	if f.head, f.inHead, err = gitsrc.FileAt(ctx, repo, head, rel); err != nil {
		return f, fmt.Errorf("%s at the head commit: %w", file, err)
	}
	return f, nil
}

// inTree returns file's slash path relative to the working tree wt, or ""
// when it is outside it (or there is no working tree).
func inTree(wt, file string) string {
	if wt == "" {
		return ""
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return ""
	}
	for _, root := range []string{wt, evalSymlinks(wt)} {
		for _, p := range []string{abs, filepath.Join(evalSymlinks(filepath.Dir(abs)), filepath.Base(abs))} {
			if rel, err := filepath.Rel(root, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				return filepath.ToSlash(rel)
			}
		}
	}
	return ""
}

func evalSymlinks(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}

// scopeRange resolves the configuration and baseline of `detect git
// --range BASE..HEAD` on the repository at repo (working tree wt; "" for
// none): those of the base commit, which the change under review cannot
// alter. What the head adds to them that suppresses more is noted as an
// error and fails the run, unless --trust-head-config, which uses the
// head's instead. A range without a base (everything HEAD reaches) has
// nothing to trust more than HEAD: the usual lookup applies.
func (o *detectOptions) scopeRange(ctx context.Context, repo, wt, rng string) error {
	base, head, ok := strings.Cut(rng, "..")
	if !ok || base == "" || strings.HasPrefix(head, ".") {
		return nil // malformed ranges are the source's to refuse
	}
	if head == "" {
		head = "HEAD"
	}
	file, rel := o.Config, ""
	if file == "" {
		file = o.factory.IO.Env(rules.EnvConfig)
	}
	if file == "" {
		rel, file = rules.FileName, filepath.Join(wt, rules.FileName)
	} else {
		rel = inTree(wt, file)
	}
	cf, err := readRevFile(ctx, repo, file, rel, base, head)
	if errors.Is(err, gitsrc.ErrUnknownRevision) {
		// The scan refuses the range and says why; until then nothing
		// the range's head wrote may apply: the built-in rules only.
		o.scope.loaded, o.scope.cfg = true, rules.Default()
		return nil
	}
	if err != nil {
		return err
	}
	baseCfg, headCfg, err := o.rangeConfigs(cf)
	if err != nil {
		return err
	}
	var notes []string
	if headCfg != nil {
		for _, w := range rules.Widening(baseCfg, headCfg) {
			notes = append(notes, fmt.Sprintf("this change widens the allowlist: %s: %s", file, w))
		}
	}
	baseBL, headBL, err := o.rangeBaselines(ctx, repo, wt, base, head)
	if err != nil {
		return err
	}
	for _, w := range rules.BaselineWidening(baseBL, headBL) {
		notes = append(notes, fmt.Sprintf("this change widens the baseline: %s %s", o.Baseline, w))
	}
	sc := &o.scope
	sc.loaded, sc.cfg, sc.baseline = true, baseCfg, baseBL
	if cf.inBase {
		sc.cfgPath = fmt.Sprintf("%s at %s (the base of the range)", file, base)
	}
	if sc.trustHead && headCfg != nil {
		sc.cfg, sc.baseline = headCfg, headBL
		if cf.inHead {
			sc.cfgPath = fmt.Sprintf("%s at %s (the head, --trust-head-config)", file, head)
		}
	}
	// Said after the line naming the config (loadConfig).
	for _, n := range notes {
		if sc.trustHead {
			sc.pending = append(sc.pending, configNote{"warning", n + " (trusted: --trust-head-config)"})
			continue
		}
		sc.pending = append(sc.pending, configNote{"error", n})
		sc.widened = true
	}
	if sc.widened {
		sc.pending = append(sc.pending, configNote{"note", "the base commit's configuration and baseline were used; the run fails until a reviewer accepts the change (--trust-head-config)"})
	}
	return nil
}

// rangeConfigs parses the configuration at base and at head. A base
// without the file has the built-in rules; a head whose file does not load
// is an error when trusted, else a warning (it widens nothing: nil).
func (o *detectOptions) rangeConfigs(cf revFile) (base, head *rules.Config, err error) {
	parse := func(data []byte, ok bool) (*rules.Config, error) {
		if !ok {
			return rules.Default(), nil
		}
		return rules.Parse(cf.name, data)
	}
	if base, err = parse(cf.base, cf.inBase); err != nil {
		return nil, nil, configError(fmt.Errorf("at the base commit: %w", err))
	}
	if head, err = parse(cf.head, cf.inHead); err != nil {
		if o.scope.trustHead {
			return nil, nil, configError(err)
		}
		o.noteConfig("warning", fmt.Sprintf("%s at the head commit does not load (the base's is used): %s", cf.name, strings.Join(configProblems(err), "; ")))
		return base, nil, nil
	}
	return base, head, nil
}

// rangeBaselines reads --baseline at base and head (nil without one).
func (o *detectOptions) rangeBaselines(ctx context.Context, repo, wt, base, head string) (*rules.Baseline, *rules.Baseline, error) {
	if o.Baseline == "" {
		return nil, nil, nil
	}
	bf, err := readRevFile(ctx, repo, o.Baseline, inTree(wt, o.Baseline), base, head)
	if err != nil {
		return nil, nil, err
	}
	read := func(data []byte, ok bool, at string) (*rules.Baseline, error) {
		if !ok {
			return nil, nil
		}
		b, err := rules.ReadBaseline(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%s at the %s commit: %w", o.Baseline, at, err)
		}
		b.Name = o.Baseline
		return b, nil
	}
	bb, err := read(bf.base, bf.inBase, "base")
	if err != nil {
		return nil, nil, err
	}
	hb, err := read(bf.head, bf.inHead, "head")
	if err != nil && o.scope.trustHead {
		return nil, nil, err
	}
	return bb, hb, nil
}
