package benchcorpus

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
)

// A pool is a block of source-like text of one kind that files are cut
// from. Files copy line-aligned windows of it at random offsets, which makes
// generation about as fast as memcpy.
type pool struct {
	data   []byte
	starts []int // offsets of line starts
}

const poolSize = 1 << 20

var words = strings.Fields(`account request response handler server client config value result
error buffer stream record index cache token session user order item price stock region model
invoke prompt message content batch queue worker task event metric trace span logger options
params payload header status retry timeout limit offset cursor page filter query schema table
column vector matrix tensor layer weight bias input output encoder decoder sample dataset train
eval score label image audio text chunk window shard replica leader follower commit branch`)

func word(r *rand.Rand) string { return words[r.IntN(len(words))] }

func camel(r *rand.Rand, n int) string {
	var sb strings.Builder
	for i := range n {
		w := word(r)
		if i > 0 {
			w = strings.ToUpper(w[:1]) + w[1:]
		}
		sb.WriteString(w)
	}
	return sb.String()
}

func pascal(r *rand.Rand, n int) string {
	s := camel(r, n)
	return strings.ToUpper(s[:1]) + s[1:]
}

func snake(r *rand.Rand, n int) string {
	p := make([]string, n)
	for i := range p {
		p[i] = word(r)
	}
	return strings.Join(p, "_")
}

func sentence(r *rand.Rand) string {
	n := 6 + r.IntN(14)
	p := make([]string, n)
	for i := range p {
		p[i] = word(r)
	}
	s := strings.Join(p, " ")
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

func hexID(r *rand.Rand, n int) string {
	b := make([]byte, (n+1)/2)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return hex.EncodeToString(b)[:n]
}

func randB64(r *rand.Rand, n int) string {
	b := make([]byte, n*3/4)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return base64.StdEncoding.EncodeToString(b)
}

// blockers write one block (a function, an object, a paragraph…) of a kind.
var blockers = map[string]func(w *bytes.Buffer, r *rand.Rand){
	"go": func(w *bytes.Buffer, r *rand.Rand) {
		name, typ := pascal(r, 2), pascal(r, 1)
		fmt.Fprintf(w, "// %s %s\n", name, strings.ToLower(sentence(r)))
		fmt.Fprintf(w, "func (s *%s) %s(ctx context.Context, %s *%sRequest) (*%sResponse, error) {\n", typ, name, camel(r, 1), name, name)
		for range 2 + r.IntN(8) {
			switch r.IntN(5) {
			case 0:
				fmt.Fprintf(w, "\tif err := s.%s.%s(ctx, %q); err != nil {\n\t\treturn nil, fmt.Errorf(\"%s: %%w\", err)\n\t}\n", camel(r, 1), pascal(r, 2), hexID(r, 8), snake(r, 2))
			case 1:
				fmt.Fprintf(w, "\tfor i := 0; i < len(%s); i++ {\n\t\t%s += %s[i].%s * %d\n\t}\n", camel(r, 1), camel(r, 1), camel(r, 1), pascal(r, 1), r.IntN(1000))
			case 2:
				fmt.Fprintf(w, "\t%s := map[string]int{%q: %d, %q: %d}\n", camel(r, 2), word(r), r.IntN(99), word(r), r.IntN(99))
			case 3:
				fmt.Fprintf(w, "\t// %s\n", sentence(r))
			default:
				fmt.Fprintf(w, "\ts.log.Info(%q, \"id\", %q, \"n\", %d)\n", sentence(r), hexID(r, 16), r.IntN(1<<16))
			}
		}
		fmt.Fprintf(w, "\treturn &%sResponse{ID: %q, Count: %d}, nil\n}\n\n", name, hexID(r, 12), r.IntN(500))
	},
	"py": func(w *bytes.Buffer, r *rand.Rand) {
		fmt.Fprintf(w, "def %s(%s, %s=None, **kwargs):\n    \"\"\"%s\"\"\"\n", snake(r, 2), snake(r, 1), snake(r, 1), sentence(r))
		for range 2 + r.IntN(8) {
			switch r.IntN(4) {
			case 0:
				fmt.Fprintf(w, "    %s = [%s.%s(x) for x in %s if x > %d]\n", snake(r, 2), word(r), snake(r, 1), snake(r, 1), r.IntN(100))
			case 1:
				fmt.Fprintf(w, "    if %s is None:\n        raise ValueError(%q)\n", snake(r, 1), sentence(r))
			case 2:
				fmt.Fprintf(w, "    logger.info(\"%%s done in %%.2fs\", %q, %d.%02d)\n", hexID(r, 10), r.IntN(90), r.IntN(100))
			default:
				fmt.Fprintf(w, "    # %s\n", sentence(r))
			}
		}
		fmt.Fprintf(w, "    return {%q: %s, %q: %d}\n\n\n", word(r), snake(r, 1), word(r), r.IntN(1000))
	},
	"js": func(w *bytes.Buffer, r *rand.Rand) {
		fmt.Fprintf(w, "export async function %s(%s, { %s, %s } = {}) {\n", camel(r, 2), camel(r, 1), camel(r, 1), camel(r, 1))
		for range 2 + r.IntN(8) {
			switch r.IntN(4) {
			case 0:
				fmt.Fprintf(w, "  const %s = await %s.%s(`/api/%s/${%s}`);\n", camel(r, 2), camel(r, 1), camel(r, 1), word(r), camel(r, 1))
			case 1:
				fmt.Fprintf(w, "  if (!%s) throw new Error(%q);\n", camel(r, 1), sentence(r))
			case 2:
				fmt.Fprintf(w, "  const %s = %s.map((x) => x.%s * %d).filter(Boolean);\n", camel(r, 1), camel(r, 1), camel(r, 1), r.IntN(64))
			default:
				fmt.Fprintf(w, "  // %s\n", sentence(r))
			}
		}
		fmt.Fprintf(w, "  return { id: %q, %s };\n}\n\n", hexID(r, 12), camel(r, 1))
	},
	"json": func(w *bytes.Buffer, r *rand.Rand) {
		fmt.Fprintf(w, "  {\n    \"id\": %q,\n    \"name\": %q,\n", hexID(r, 24), snake(r, 2))
		for range 1 + r.IntN(6) {
			switch r.IntN(3) {
			case 0:
				fmt.Fprintf(w, "    %q: %d,\n", camel(r, 2), r.IntN(1<<20))
			case 1:
				fmt.Fprintf(w, "    %q: %q,\n", camel(r, 1), sentence(r))
			default:
				fmt.Fprintf(w, "    %q: [%d, %d, %d],\n", camel(r, 1), r.IntN(99), r.IntN(99), r.IntN(99))
			}
		}
		fmt.Fprintf(w, "    \"checksum\": %q\n  },\n", hexID(r, 64))
	},
	"ipynb": func(w *bytes.Buffer, r *rand.Rand) {
		for range 2 + r.IntN(10) {
			fmt.Fprintf(w, "    \"%s = %s.%s(%s, axis=%d)\\n\",\n", snake(r, 1), word(r), snake(r, 1), snake(r, 1), r.IntN(3))
		}
		if r.IntN(6) == 0 {
			// An embedded plot, as notebooks carry them: one long base64 line.
			fmt.Fprintf(w, "    \"image/png\": \"iVBORw0KGgo%s\",\n", randB64(r, 2000+r.IntN(30000)))
		}
	},
	"env": func(w *bytes.Buffer, r *rand.Rand) {
		switch r.IntN(4) {
		case 0:
			fmt.Fprintf(w, "# %s\n", sentence(r))
		case 1:
			fmt.Fprintf(w, "%s_URL=https://%s.internal.example:%d/%s\n", strings.ToUpper(snake(r, 2)), word(r), 1024+r.IntN(60000), word(r))
		default:
			fmt.Fprintf(w, "%s=%s\n", strings.ToUpper(snake(r, 2)), hexID(r, 8+r.IntN(24)))
		}
	},
	"yaml": func(w *bytes.Buffer, r *rand.Rand) {
		fmt.Fprintf(w, "%s:\n  name: %s\n  replicas: %d\n  labels:\n    app: %s\n", snake(r, 1), snake(r, 2), 1+r.IntN(9), word(r))
		for range r.IntN(5) {
			fmt.Fprintf(w, "  %s: %q\n", camel(r, 2), sentence(r))
		}
	},
	"md": func(w *bytes.Buffer, r *rand.Rand) {
		fmt.Fprintf(w, "## %s\n\n", pascal(r, 3))
		for range 1 + r.IntN(4) {
			for range 2 + r.IntN(5) {
				w.WriteString(sentence(r))
				w.WriteByte(' ')
			}
			w.WriteString("\n\n")
		}
		if r.IntN(3) == 0 {
			fmt.Fprintf(w, "```bash\n%s --%s=%d %s\n```\n\n", word(r), word(r), r.IntN(100), snake(r, 2))
		}
	},
	"toml": func(w *bytes.Buffer, r *rand.Rand) {
		fmt.Fprintf(w, "[%s.%s]\n", word(r), word(r))
		for range 1 + r.IntN(6) {
			fmt.Fprintf(w, "%s = %q\n", snake(r, 2), sentence(r))
		}
		w.WriteByte('\n')
	},
	"sh": func(w *bytes.Buffer, r *rand.Rand) {
		switch r.IntN(4) {
		case 0:
			fmt.Fprintf(w, "# %s\n", sentence(r))
		case 1:
			fmt.Fprintf(w, "if [ -z \"${%s:-}\" ]; then\n  echo %q >&2\n  exit 1\nfi\n", strings.ToUpper(snake(r, 2)), sentence(r))
		default:
			fmt.Fprintf(w, "%s --%s \"$%s\" --%s=%d\n", word(r), word(r), strings.ToUpper(word(r)), word(r), r.IntN(1000))
		}
	},
	// Minified code: no newline at all.
	"minjs": func(w *bytes.Buffer, r *rand.Rand) {
		switch r.IntN(4) {
		case 0:
			fmt.Fprintf(w, "function %s(%c,%c){return %c.%s(%c)+%d}", camel(r, 1), 'a'+r.IntN(26), 'a'+r.IntN(26), 'a'+r.IntN(26), camel(r, 1), 'a'+r.IntN(26), r.IntN(100))
		case 1:
			fmt.Fprintf(w, "var %s=%q,%s=[%d,%d,%d];", camel(r, 1), hexID(r, 12), camel(r, 1), r.IntN(99), r.IntN(99), r.IntN(99))
		case 2:
			fmt.Fprintf(w, "if(!%s)throw new Error(%q);", camel(r, 1), sentence(r))
		default:
			fmt.Fprintf(w, "e.exports={%s:%d,%s:%q};", camel(r, 1), r.IntN(1<<16), camel(r, 1), word(r))
		}
	},
}

// headers and footers make a file look whole.
var headers = map[string]string{
	"go":    "// Code in this file is generated for the bks benchmark corpus.\n\npackage corpus\n\nimport (\n\t\"context\"\n\t\"fmt\"\n)\n\n",
	"py":    "\"\"\"Generated for the bks benchmark corpus.\"\"\"\nimport logging\nimport os\n\nlogger = logging.getLogger(__name__)\n\n\n",
	"js":    "'use strict';\n\n",
	"json":  "[\n",
	"ipynb": "{\n \"cells\": [\n  {\n   \"cell_type\": \"code\",\n   \"metadata\": {},\n   \"source\": [\n",
	"sh":    "#!/usr/bin/env bash\nset -euo pipefail\n\n",
	"minjs": "!function(e){",
}

var footers = map[string]string{
	"json":  "  {}\n]\n",
	"ipynb": "    \"\"\n   ]\n  }\n ],\n \"metadata\": {},\n \"nbformat\": 4,\n \"nbformat_minor\": 5\n}\n",
	"minjs": "}(this);\n",
}

func newPool(kind string, r *rand.Rand) *pool {
	var w bytes.Buffer
	w.Grow(poolSize + 64<<10)
	block := blockers[kind]
	for w.Len() < poolSize {
		block(&w, r)
	}
	p := &pool{data: w.Bytes()}
	if kind == "minjs" {
		return p
	}
	p.starts = append(p.starts, 0)
	for i, c := range p.data[:len(p.data)-1] {
		if c == '\n' {
			p.starts = append(p.starts, i+1)
		}
	}
	return p
}

// maxSegment bounds one copy from a pool, so that files mix many windows.
const maxSegment = 48 << 10

// fill appends whole lines from p to buf until it holds at least target
// bytes (line pools) or exactly target bytes (minified pools).
func (p *pool) fill(buf []byte, target int, r *rand.Rand) []byte {
	for len(buf) < target {
		want := min(target-len(buf), maxSegment)
		if p.starts == nil {
			start := r.IntN(len(p.data))
			n := min(want, len(p.data)-start)
			buf = append(buf, p.data[start:start+n]...)
			continue
		}
		start := p.starts[r.IntN(len(p.starts))]
		end := start + want
		if end >= len(p.data) {
			end = len(p.data)
		} else if i := bytes.IndexByte(p.data[end:], '\n'); i >= 0 {
			end += i + 1
		} else {
			end = len(p.data)
		}
		buf = append(buf, p.data[start:end]...)
	}
	return buf
}
