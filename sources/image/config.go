package image

import (
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/bks-dev/bks/location"
)

// configItems are the parts of an image config where keys leak, one item
// each, by the path reported for them: one line per value, so a finding's
// line is the value's position (the history entry's for "history").
func configItems(cfg *v1.ConfigFile) [][2]string {
	var items [][2]string
	add := func(path string, lines []string) {
		if len(lines) > 0 {
			items = append(items, [2]string{path, strings.Join(lines, "\n") + "\n"})
		}
	}
	c := cfg.Config
	add("Config.Env", c.Env)
	labels := make([]string, 0, len(c.Labels))
	for k, v := range c.Labels {
		labels = append(labels, k+"="+v)
	}
	sort.Strings(labels)
	add("Config.Labels", labels)
	add("Config.Cmd", c.Cmd)
	add("Config.Entrypoint", c.Entrypoint)
	add("Config.OnBuild", c.OnBuild)
	var hist []string
	for _, h := range cfg.History {
		hist = append(hist, h.CreatedBy)
	}
	add("history", hist)
	return items
}

// config scans the config items of the image name. Its only error is a
// failing yield.
func (sw *sweep) config(name string, cfg *v1.ConfigFile) error {
	for _, it := range configItems(cfg) {
		origin := &location.Location{Path: it[0], Kind: KindConfig, Repo: name}
		if err := sw.split.Split(strings.NewReader(it[1]), origin, nil, sw.yieldChunk); err != nil {
			return err
		}
	}
	return nil
}
