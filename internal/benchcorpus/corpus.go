// Package benchcorpus generates the benchmark corpus of `make bench`: many
// files of source-like text of realistic sizes and kinds, with Bedrock and
// Claude Platform keys planted in the hiding places of KEYS.md and decoys
// that must not be reported, plus the ground truth to check a scan against.
//
// Generation is deterministic: the same Options always give the same files
// and the same ground truth, whatever the number of workers.
package benchcorpus

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
)

// Options configure Generate.
type Options struct {
	// Size is the total number of bytes to write, approximately (within a
	// file's size).
	Size int64
	Seed uint64
	// Workers writing files in parallel; GOMAXPROCS when 0.
	Workers int
	// MinifiedSize is the size of the one big single-line minified file;
	// when 0, Size/16 within [256 KiB, 64 MiB].
	MinifiedSize int64
}

// Stats describe a generated corpus.
type Stats struct {
	Files   int
	Bytes   int64
	Planted int
	Decoys  int
}

type kindInfo struct {
	name   string
	ext    string
	weight int     // share of files
	crlf   float64 // share of its files written with CRLF line ends
	large  float64 // share of its files of 1–6 MB
}

var kinds = []kindInfo{
	{"go", ".go", 20, 0, 0.005},
	{"py", ".py", 18, 0.05, 0.005},
	{"js", ".js", 14, 0, 0.01},
	{"json", ".json", 12, 0, 0.015},
	{"md", ".md", 9, 0.1, 0.005},
	{"yaml", ".yaml", 8, 0.1, 0},
	{"ipynb", ".ipynb", 4, 0, 0.03},
	{"env", ".env", 4, 0.15, 0},
	{"toml", ".toml", 3, 0.1, 0},
	{"sh", ".sh", 5, 0.05, 0},
	{"minjs", ".min.js", 3, 0, 0.03},
}

var topDirs = []string{"src", "lib", "pkg", "app", "services", "tools", "docs", "config", "deploy", "notebooks", "scripts", "web"}

// item is a key or decoy to write into a file.
type item struct {
	at      int     // exact byte offset (inline items of minified files), or -1
	frac    float64 // else: relative position in the file
	text    string
	keyLine int // line of the key inside text, 0-based
	keyCol  int // byte column of the key in that line, 0-based
	entry   Entry
}

type fileSpec struct {
	path  string // slash-separated, relative to the root
	kind  int
	size  int
	crlf  bool
	seed  uint64
	items []item
}

type generator struct {
	opts  Options
	pools map[string]*pool
	files []*fileSpec
	byKnd map[string][]int // file indices per kind
}

func rng(seed, stream uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, stream)) }

// Generate writes a corpus under root, which must not exist or be empty, and
// returns its ground truth (sorted by path, line, column).
func Generate(root string, opts Options) ([]Entry, Stats, error) {
	if opts.Size <= 0 {
		return nil, Stats{}, errors.New("generate corpus: size must be positive")
	}
	if ents, err := os.ReadDir(root); err == nil && len(ents) > 0 {
		return nil, Stats{}, fmt.Errorf("generate corpus: %s is not empty", root)
	}
	g := newGenerator(opts)
	g.plan()
	return g.write(root)
}

// poolCache keeps the pools of recent seeds: they are read-only once built
// and building them is most of the cost of a small corpus.
var poolCache struct {
	sync.Mutex
	m map[uint64]map[string]*pool
}

func poolsFor(seed uint64) map[string]*pool {
	poolCache.Lock()
	defer poolCache.Unlock()
	if p, ok := poolCache.m[seed]; ok {
		return p
	}
	ps := map[string]*pool{}
	for i, k := range kinds {
		ps[k.name] = newPool(k.name, rng(seed, 1000+uint64(i)))
	}
	if poolCache.m == nil || len(poolCache.m) >= 4 {
		poolCache.m = map[uint64]map[string]*pool{}
	}
	poolCache.m[seed] = ps
	return ps
}

func newGenerator(opts Options) *generator {
	return &generator{opts: opts, pools: poolsFor(opts.Seed), byKnd: map[string][]int{}}
}

func logUniform(r *rand.Rand, lo, hi float64) int {
	return int(math.Exp(math.Log(lo) + r.Float64()*(math.Log(hi)-math.Log(lo))))
}

func (g *generator) plan() {
	r := rng(g.opts.Seed, 1)
	total := 0
	for k := range kinds {
		total += kinds[k].weight
	}
	var written int64
	dirFiles, dirIdx := 0, 0
	dir := ""
	envInDir := 0
	newDir := func() {
		dir = fmt.Sprintf("r%02d/%s/%s%02d", dirIdx/48, topDirs[dirIdx%len(topDirs)], word(r), dirIdx%100)
		dirIdx++
		dirFiles, envInDir = 0, 0
	}
	newDir()
	add := func(k, size int) *fileSpec {
		if dirFiles >= 20+r.IntN(60) {
			newDir()
		}
		dirFiles++
		kn := kinds[k]
		i := len(g.files)
		name := fmt.Sprintf("%s_%06d%s", snake(r, 1), i, kn.ext)
		if kn.name == "env" {
			name = ".env"
			if envInDir > 0 {
				name = fmt.Sprintf(".env.%s%d", word(r), i)
			}
			envInDir++
		}
		f := &fileSpec{path: path.Join(dir, name), kind: k, size: size, seed: r.Uint64(),
			crlf: r.Float64() < kn.crlf}
		g.files = append(g.files, f)
		g.byKnd[kn.name] = append(g.byKnd[kn.name], i)
		written += int64(size)
		return f
	}
	// The one big minified file, a single line of many megabytes.
	minSize := g.opts.MinifiedSize
	if minSize == 0 {
		minSize = min(max(g.opts.Size/16, 256<<10), 64<<20)
	}
	big := add(len(kinds)-1, int(minSize))
	// Then one file of every kind, then files of kinds drawn by weight.
	for i := 0; written < g.opts.Size; i++ {
		k := i
		if i >= len(kinds) {
			x := r.IntN(total)
			for k = 0; x >= kinds[k].weight; k++ {
				x -= kinds[k].weight
			}
		}
		var size int
		switch kn := kinds[k]; {
		case kn.name == "env":
			size = logUniform(r, 100, 4000)
		case r.Float64() < kn.large:
			size = logUniform(r, 1<<20, 6<<20)
		case kn.name == "minjs":
			size = logUniform(r, 20<<10, 2<<20)
		default:
			size = logUniform(r, 1<<10, 200<<10)
		}
		add(k, size)
	}

	// Keys: every place with every variant, then more at random.
	placeFor := map[string][]int{}
	for pi := range places {
		placeFor[places[pi].kind] = append(placeFor[places[pi].kind], pi)
	}
	extra := int(g.opts.Size / (2 << 20))
	var keyJobs [][2]int // place, variant
	for pi := range places {
		for vi := range variants {
			keyJobs = append(keyJobs, [2]int{pi, vi})
		}
	}
	for range extra {
		keyJobs = append(keyJobs, [2]int{r.IntN(len(places)), r.IntN(len(variants))})
	}
	for _, j := range keyJobs {
		p := &places[j[0]]
		v := variants[j[1]]
		var key, rule string
		if p.needsPadding() {
			key, rule = makePaddedKey(v, r)
		} else {
			key, rule = makeKey(v, r)
		}
		f := g.files[g.pick(r, p.kind)]
		it := g.newItem(r, p, key, false)
		it.entry = Entry{Type: TypePlanted, Rule: rule, Fingerprint: fingerprint(rule, key),
			Variant: v, Place: p.name, Encoding: p.findingEncoding()}
		f.items = append(f.items, it)
	}
	// Keys lying across internal chunk boundaries of the big minified file:
	// at every multiple of 64 KiB up to 256 KiB, then at powers of two.
	minified := placeByName("minified")
	for b := 64 << 10; b < big.size-16<<10; {
		key, rule := makeKey(variants[len(big.items)%len(variants)], r)
		it := g.newItem(r, minified, key, false)
		it.at = b - it.keyCol - len(key)/2
		it.entry = Entry{Type: TypePlanted, Rule: rule, Fingerprint: fingerprint(rule, key),
			Variant: variants[len(big.items)%len(variants)], Place: "minified-chunk-boundary"}
		big.items = append(big.items, it)
		if b < 256<<10 {
			b += 64 << 10
		} else {
			b *= 2
		}
	}

	// Decoys: every class in a few places, prose in every kind, then more.
	var decoyJobs [][2]int // class (len(decoyClasses) = prose), place or kind
	for ci := range decoyClasses {
		for range 3 {
			decoyJobs = append(decoyJobs, [2]int{ci, r.IntN(len(places))})
		}
	}
	for ki := range kinds {
		if _, ok := proseTemplates[kinds[ki].name]; ok {
			decoyJobs = append(decoyJobs, [2]int{len(decoyClasses), ki})
		}
	}
	for range extra {
		if r.IntN(5) == 0 {
			decoyJobs = append(decoyJobs, [2]int{len(decoyClasses), r.IntN(len(kinds) - 1)})
		} else {
			decoyJobs = append(decoyJobs, [2]int{r.IntN(len(decoyClasses)), r.IntN(len(places))})
		}
	}
	for _, j := range decoyJobs {
		var it item
		var kind string
		if j[0] == len(decoyClasses) {
			kind = kinds[j[1]].name
			p := &place{name: "prose-" + kind, kind: kind, tmpl: proseTemplates[kind]}
			it = g.newItem(r, p, proseDecoys[r.IntN(len(proseDecoys))], true)
			it.entry = Entry{Type: TypeDecoy, Variant: DecoyProse, Place: p.name}
		} else {
			p := &places[j[1]]
			kind = p.kind
			it = g.newItem(r, p, makeDecoy(decoyClasses[j[0]], r), true)
			it.entry = Entry{Type: TypeDecoy, Variant: decoyClasses[j[0]], Place: p.name}
		}
		f := g.files[g.pick(r, kind)]
		f.items = append(f.items, it)
	}
}

func placeByName(name string) *place {
	for i := range places {
		if places[i].name == name {
			return &places[i]
		}
	}
	panic("benchcorpus: no place " + name)
}

// pick returns a random file of kind, avoiding the big minified file (file
// 0), which holds only its own chunk-boundary keys.
func (g *generator) pick(r *rand.Rand, kind string) int {
	idx := g.byKnd[kind]
	if kind == "minjs" && len(idx) > 1 {
		idx = idx[1:]
	}
	return idx[r.IntN(len(idx))]
}

func (g *generator) newItem(r *rand.Rand, p *place, key string, decoy bool) item {
	text, line, col := p.render(key, decoy)
	it := item{at: -1, frac: r.Float64(), text: text, keyLine: line, keyCol: col}
	if p.inline {
		it.at = -2 // placed by frac inside the single line
	}
	if p.longLine {
		// Several kilobytes of minified code on each side, same line.
		pre := g.pools["minjs"].fill([]byte("var cfg={init:function(){"), 2<<10+r.IntN(40<<10), r)
		post := g.pools["minjs"].fill([]byte("}"), 2<<10+r.IntN(40<<10), r)
		it.keyCol += len(pre)
		it.text = string(pre) + text + string(post) + "};"
	}
	return it
}

func (g *generator) write(root string) ([]Entry, Stats, error) {
	dirs := map[string]bool{}
	for _, f := range g.files {
		dirs[path.Dir(f.path)] = true
	}
	for d := range dirs {
		if err := os.MkdirAll(filepath.Join(root, filepath.FromSlash(d)), 0o755); err != nil {
			return nil, Stats{}, fmt.Errorf("generate corpus: %w", err)
		}
	}
	workers := g.opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	entries := make([][]Entry, len(g.files))
	var next atomic.Int64
	var bytesOut atomic.Int64
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			var buf []byte
			for {
				i := int(next.Add(1) - 1)
				if i >= len(g.files) || errs[w] != nil {
					return
				}
				f := g.files[i]
				buf, entries[i] = g.render(buf[:0], f)
				if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(f.path)), buf, 0o644); err != nil {
					errs[w] = fmt.Errorf("generate corpus: %w", err)
					return
				}
				bytesOut.Add(int64(len(buf)))
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, Stats{}, err
	}
	var all []Entry
	st := Stats{Files: len(g.files), Bytes: bytesOut.Load()}
	for _, es := range entries {
		for _, e := range es {
			if e.Type == TypePlanted {
				st.Planted++
			} else {
				st.Decoys++
			}
		}
		all = append(all, es...)
	}
	SortEntries(all)
	return all, st, nil
}

// render writes file f into buf and returns it with the file's entries.
func (g *generator) render(buf []byte, f *fileSpec) ([]byte, []Entry) {
	kn := kinds[f.kind]
	r := rng(g.opts.Seed, f.seed)
	p := g.pools[kn.name]
	items := slices.Clone(f.items)
	single := kn.name == "minjs"
	for i := range items {
		if items[i].at == -2 || (single && items[i].at == -1) {
			items[i].at = int(items[i].frac * float64(f.size))
		}
	}
	sort.SliceStable(items, func(a, b int) bool {
		pa, pb := items[a].at, items[b].at
		if pa < 0 {
			pa = int(items[a].frac * float64(f.size))
		}
		if pb < 0 {
			pb = int(items[b].frac * float64(f.size))
		}
		return pa < pb
	})
	buf = append(buf, headers[kn.name]...)
	var ents []Entry
	line, counted := 1, 0
	for _, it := range items {
		target := it.at
		if target < 0 {
			target = int(it.frac * float64(f.size))
		}
		buf = p.fill(buf, target, r)
		line += bytes.Count(buf[counted:], []byte{'\n'})
		counted = len(buf)
		lineStart := bytes.LastIndexByte(buf, '\n') + 1
		e := it.entry
		e.Path = f.path
		e.Line = line + it.keyLine
		if it.keyLine == 0 {
			e.Column = len(buf) - lineStart + it.keyCol + 1
		} else {
			e.Column = it.keyCol + 1
		}
		e.CRLF = f.crlf
		ents = append(ents, e)
		buf = append(buf, it.text...)
		if !single {
			buf = append(buf, '\n')
		}
	}
	buf = p.fill(buf, f.size-len(footers[kn.name]), r)
	buf = append(buf, footers[kn.name]...)
	if f.crlf {
		buf = toCRLF(buf)
	}
	return buf, ents
}

func toCRLF(b []byte) []byte {
	n := bytes.Count(b, []byte{'\n'})
	out := make([]byte, 0, len(b)+n)
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return append(out, b...)
		}
		out = append(out, b[:i]...)
		out = append(out, '\r', '\n')
		b = b[i+1:]
	}
}
