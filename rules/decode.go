package rules

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// ConfigError is one problem in a configuration file: where it is and what
// is wrong. Errors never quote a value that could be a secret.
type ConfigError struct {
	File string
	Line int    // 1-based; 0 when unknown
	Key  string // dotted path of the key, e.g. rules[2].regex; may be empty
	Msg  string
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// decodeTOML parses data (named file in errors) into v, a pointer to a struct
// whose fields carry `toml:"name"` tags. Unlike toml.Decode it reports every
// unknown key and every wrongly typed value with its line.
func decodeTOML(file string, data []byte, v any) (*locator, error) {
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &ConfigError{File: file, Line: pe.Position.Line, Msg: pe.Message}
		}
		return nil, &ConfigError{File: file, Msg: err.Error()}
	}
	loc := locate(data)
	loc.typos = map[string]bool{}
	d := &strictDecoder{file: file, loc: loc}
	d.value("", raw, reflect.ValueOf(v).Elem())
	return loc, errors.Join(d.errs...)
}

type strictDecoder struct {
	file string
	loc  *locator
	errs []error
}

func (d *strictDecoder) fail(path, format string, args ...any) {
	d.errs = append(d.errs, &ConfigError{File: d.file, Line: d.loc.line(path), Key: path, Msg: fmt.Sprintf(format, args...)})
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func tomlType(x any) string {
	switch x.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case map[string]any:
		return "a table"
	case []map[string]any, []any:
		return "an array"
	}
	return "a date/time"
}

func (d *strictDecoder) value(path string, x any, rv reflect.Value) {
	switch rv.Kind() {
	case reflect.Pointer:
		nv := reflect.New(rv.Type().Elem())
		d.value(path, x, nv.Elem())
		rv.Set(nv)
	case reflect.Struct:
		m, ok := x.(map[string]any)
		if !ok {
			d.fail(path, "expected a table, got %s", tomlType(x))
			return
		}
		d.table(path, m, rv)
	case reflect.Slice:
		var items []any
		switch a := x.(type) {
		case []any:
			items = a
		case []map[string]any:
			for _, m := range a {
				items = append(items, m)
			}
		default:
			et := rv.Type().Elem()
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				d.fail(path, "expected an array of tables ([[%s]]), got %s", lastKey(path), tomlType(x))
			} else {
				d.fail(path, "expected an array, got %s", tomlType(x))
			}
			return
		}
		s := reflect.MakeSlice(rv.Type(), len(items), len(items))
		for i, it := range items {
			d.value(fmt.Sprintf("%s[%d]", path, i), it, s.Index(i))
		}
		rv.Set(s)
	case reflect.String:
		s, ok := x.(string)
		if !ok {
			d.fail(path, "expected a string, got %s", tomlType(x))
			return
		}
		rv.SetString(s)
	case reflect.Bool:
		b, ok := x.(bool)
		if !ok {
			d.fail(path, "expected true or false, got %s", tomlType(x))
			return
		}
		rv.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, ok := x.(int64)
		if !ok {
			d.fail(path, "expected an integer, got %s", tomlType(x))
			return
		}
		rv.SetInt(n)
	case reflect.Float64:
		switch n := x.(type) {
		case int64:
			rv.SetFloat(float64(n))
		case float64:
			rv.SetFloat(n)
		default:
			d.fail(path, "expected a number, got %s", tomlType(x))
		}
	default:
		panic("rules: unsupported config field type " + rv.Type().String())
	}
}

func lastKey(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		path = path[i+1:]
	}
	if i := strings.IndexByte(path, '['); i >= 0 {
		path = path[:i]
	}
	return path
}

func (d *strictDecoder) table(path string, m map[string]any, rv reflect.Value) {
	t := rv.Type()
	fields := map[string]int{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		tag := t.Field(i).Tag.Get("toml")
		if tag == "" || tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		fields[name] = i
		names = append(names, name)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// Report in file order, so the first error is the first in the file.
	sort.Slice(keys, func(i, j int) bool {
		return d.loc.line(join(path, keys[i])) < d.loc.line(join(path, keys[j]))
	})
	for _, k := range keys {
		p := join(path, k)
		i, ok := fields[k]
		if !ok {
			msg := fmt.Sprintf("unknown key %q", k)
			if s := suggest(k, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			d.fail(p, "%s", msg)
			d.loc.typos[path] = true
			continue
		}
		d.value(p, m[k], rv.Field(i))
	}
}

// suggest returns the name closest to k when it is close enough to be a typo.
func suggest(k string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if dd := editDistance(strings.ToLower(k), n); dd < bestD {
			best, bestD = n, dd
		}
	}
	if bestD > len(k)/2 {
		return ""
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			c = min(c, prev[j]+1, cur[j-1]+1)
			cur[j] = c
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// locator maps key paths ("rules[1].examples[0].match", "allowlists[0].paths[2]")
// to the line they are written on. It is a structural scan of text that the
// TOML parser has already accepted; a path it did not see is looked up by
// its nearest ancestor.
type locator struct {
	lines map[string]int
	// typos holds the tables that have an unknown key: a missing key
	// there is most likely that key misspelt, and is not reported again.
	typos map[string]bool
}

func (l *locator) line(path string) int {
	for path != "" {
		if n, ok := l.lines[path]; ok {
			return n
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return 0
		}
		path = path[:i]
	}
	return 0
}

type scanner struct {
	s    []byte
	i    int
	line int
	loc  *locator
	// arrays counts the elements of each array of tables seen so far.
	arrays map[string]int
}

func locate(data []byte) (l *locator) {
	l = &locator{lines: map[string]int{}}
	sc := &scanner{s: data, line: 1, loc: l, arrays: map[string]int{}}
	defer func() {
		// The text was accepted by the TOML parser; a shape this scanner
		// does not follow only costs line precision, never a crash.
		_ = recover()
	}()
	sc.document()
	return l
}

func (sc *scanner) eof() bool { return sc.i >= len(sc.s) }
func (sc *scanner) peek() byte {
	if sc.eof() {
		return 0
	}
	return sc.s[sc.i]
}

func (sc *scanner) advance() {
	if sc.s[sc.i] == '\n' {
		sc.line++
	}
	sc.i++
}

// space skips blanks and, with nl, newlines and comments too.
func (sc *scanner) space(nl bool) {
	for !sc.eof() {
		c := sc.peek()
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			sc.advance()
		case c == '#':
			for !sc.eof() && sc.peek() != '\n' {
				sc.advance()
			}
		case c == '\n' && nl:
			sc.advance()
		default:
			return
		}
	}
}

func (sc *scanner) document() {
	table := ""
	for {
		sc.space(true)
		if sc.eof() {
			return
		}
		if sc.peek() == '[' {
			line := sc.line
			sc.advance()
			arr := sc.peek() == '['
			if arr {
				sc.advance()
			}
			keys := sc.key()
			sc.space(false)
			for !sc.eof() && sc.peek() == ']' {
				sc.advance()
			}
			table = sc.resolve(keys, arr)
			sc.loc.lines[table] = line
			continue
		}
		sc.keyValue(table)
	}
}

// resolve turns a header's keys into an indexed path: arrays of tables
// among its ancestors refer to their last element.
func (sc *scanner) resolve(keys []string, arr bool) string {
	p := ""
	for i, k := range keys {
		p = join(p, k)
		if i == len(keys)-1 && arr {
			n := sc.arrays[p]
			sc.arrays[p] = n + 1
			return fmt.Sprintf("%s[%d]", p, n)
		}
		if n, ok := sc.arrays[p]; ok {
			p = fmt.Sprintf("%s[%d]", p, n-1)
		}
	}
	return p
}

func (sc *scanner) keyValue(table string) {
	line := sc.line
	keys := sc.key()
	p := table
	for _, k := range keys {
		p = join(p, k)
	}
	if _, seen := sc.loc.lines[p]; !seen {
		sc.loc.lines[p] = line
	}
	sc.space(false)
	if sc.peek() == '=' {
		sc.advance()
	}
	sc.space(false)
	sc.value(p)
}

func (sc *scanner) key() []string {
	var keys []string
	for {
		sc.space(false)
		switch c := sc.peek(); c {
		case '"', '\'':
			keys = append(keys, sc.str())
		default:
			start := sc.i
			for !sc.eof() {
				c := sc.peek()
				if c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
					sc.advance()
					continue
				}
				break
			}
			if sc.i == start {
				panic("locator: no key")
			}
			keys = append(keys, string(sc.s[start:sc.i]))
		}
		sc.space(false)
		if sc.peek() != '.' {
			return keys
		}
		sc.advance()
	}
}

// str reads a string of any of TOML's four kinds and returns its raw text
// (escapes are not needed for key paths written by people).
func (sc *scanner) str() string {
	q := sc.peek()
	multi := sc.i+2 < len(sc.s) && sc.s[sc.i+1] == q && sc.s[sc.i+2] == q
	if multi {
		sc.advance()
		sc.advance()
		sc.advance()
		start := sc.i
		for !sc.eof() {
			if q == '"' && sc.peek() == '\\' {
				sc.advance()
				sc.advance()
				continue
			}
			if sc.i+2 < len(sc.s) && sc.s[sc.i] == q && sc.s[sc.i+1] == q && sc.s[sc.i+2] == q {
				end := sc.i
				sc.advance()
				sc.advance()
				sc.advance()
				// Up to two more quotes belong to the content.
				for k := 0; k < 2 && sc.peek() == q; k++ {
					sc.advance()
					end++
				}
				return string(sc.s[start:end])
			}
			sc.advance()
		}
		return string(sc.s[start:])
	}
	sc.advance()
	start := sc.i
	for !sc.eof() && sc.peek() != q && sc.peek() != '\n' {
		if q == '"' && sc.peek() == '\\' {
			sc.advance()
		}
		sc.advance()
	}
	s := string(sc.s[start:sc.i])
	if !sc.eof() && sc.peek() == q {
		sc.advance()
	}
	return s
}

func (sc *scanner) value(p string) {
	switch c := sc.peek(); c {
	case '"', '\'':
		sc.str()
	case '[':
		sc.advance()
		for n := 0; ; n++ {
			at := sc.i
			sc.space(true)
			if sc.eof() {
				return
			}
			if sc.peek() == ']' {
				sc.advance()
				return
			}
			ep := p + "[" + strconv.Itoa(n) + "]"
			sc.loc.lines[ep] = sc.line
			sc.value(ep)
			sc.space(true)
			if sc.peek() == ',' {
				sc.advance()
			}
			if sc.i == at {
				panic("locator: stuck in an array")
			}
		}
	case '{':
		sc.advance()
		for at := -1; at != sc.i; {
			at = sc.i
			sc.space(true)
			if sc.eof() {
				return
			}
			if sc.peek() == '}' {
				sc.advance()
				return
			}
			if sc.peek() == ',' {
				sc.advance()
				continue
			}
			sc.keyValue(p)
		}
		panic("locator: stuck in an inline table")
	default:
		for !sc.eof() {
			c := sc.peek()
			if c == ',' || c == ']' || c == '}' || c == '\n' || c == '#' {
				return
			}
			sc.advance()
		}
	}
}
