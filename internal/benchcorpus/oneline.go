package benchcorpus

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
)

// GenerateOneLine writes file: size bytes of minified code on one single
// line, with a key at the very start, one lying across the middle and one
// ending exactly at the end of the file. It returns the ground truth, whose
// paths are the file's base name. The file is streamed: memory stays small
// whatever the size.
func GenerateOneLine(file string, size int64, seed uint64) ([]Entry, error) {
	r := rng(seed, 7)
	type plant struct {
		variant, text string
		keyOff        int
		at            int64
		entry         Entry
	}
	mk := func(v, pre, post string) plant {
		key, rule := makeKey(v, r)
		return plant{variant: v, text: pre + key + post, keyOff: len(pre),
			entry: Entry{Type: TypePlanted, Rule: rule, Fingerprint: fingerprint(rule, key), Variant: v}}
	}
	head := mk(VariantLongTermConsole, `var k="`, `";`)
	mid := mk(VariantShortTermASIA, `;var t="`, `";`)
	tail := mk(VariantClaudeShortTerm, `;var c="`, ``)
	head.at = 0
	mid.at = size/2 - int64(mid.keyOff) - int64(len(mid.text)-mid.keyOff)/2
	tail.at = size - int64(len(tail.text))
	if mid.at < int64(len(head.text)) || tail.at < mid.at+int64(len(mid.text)) {
		return nil, fmt.Errorf("generate one-line file: size %d too small", size)
	}
	head.entry.Place, mid.entry.Place, tail.entry.Place = "one-line-start", "one-line-middle", "one-line-end"

	block := newPool("minjs", rng(seed, 8)).data
	f, err := os.Create(file)
	if err != nil {
		return nil, fmt.Errorf("generate one-line file: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var off int64
	fillTo := func(to int64) error {
		for off < to {
			n := int(min(int64(len(block)), to-off))
			if _, err := w.Write(block[:n]); err != nil {
				return err
			}
			off += int64(n)
		}
		return nil
	}
	var ents []Entry
	for _, p := range []plant{head, mid, tail} {
		if err := fillTo(p.at); err != nil {
			f.Close()
			return nil, fmt.Errorf("generate one-line file: %w", err)
		}
		if _, err := w.WriteString(p.text); err != nil {
			f.Close()
			return nil, fmt.Errorf("generate one-line file: %w", err)
		}
		e := p.entry
		e.Path = filepath.Base(file)
		e.Line = 1
		e.Column = int(off) + p.keyOff + 1
		ents = append(ents, e)
		off += int64(len(p.text))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return nil, fmt.Errorf("generate one-line file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("generate one-line file: %w", err)
	}
	return ents, nil
}
