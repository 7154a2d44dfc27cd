package git

// Reading commits for the git CLI walk (collectGit) without go-git's
// object.Commit.Decode: on git/git's 85,000 commits Decode cost 0.45 of
// the 2.4 CPU-s their reading took, mostly allocations (a line per
// ReadBytes, a string per header key, the mergetag and gpgsig headers
// grown one line at a time, a time.FixedZone per signature), for
// fields the walk never looks at. parseCommitHead reads, in one pass
// over the raw object, only what the walk uses, and reads it as Decode
// does: TestCommitHeadMatchesGoGit compares the two on every commit of
// several repositories, FuzzCommitHead on hostile input.

import (
	"bytes"
	"encoding/hex"
	"errors"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// commitHead is what the git CLI walk reads of a commit. The byte slices
// point into the raw object: valid only during the callback that gets
// the commitHead.
type commitHead struct {
	hash    plumbing.Hash
	tree    plumbing.Hash
	parents []plumbing.Hash
	// author and email are the author's name and address (go-git's
	// Signature.Name and Email).
	author, email []byte
	// authorWhen and committerWhen are the times of the author and
	// committer lines, the zero time where go-git reads none.
	authorWhen, committerWhen time.Time
	message                   []byte
}

var (
	errNoTree       = errors.New("malformed commit: missing tree header")
	errTreeNotFirst = errors.New("malformed commit: tree header must be first")
	errBadTreeID    = errors.New("malformed commit: bad tree hash")
	errBadParent    = errors.New("malformed commit: bad parent hash")
)

// parseCommitHead reads commit object data into c (c.parents is reused),
// as go-git's Commit.Decode reads the same fields, and fails where it
// fails (a missing or misplaced tree header, a bad tree or parent id).
//
// Decode's states, line by line: the tree line, which must come first;
// the parent lines right after it; an author line right after those; a
// committer line right after that (or right after the parents, without
// an author line); then any other headers, whose continuation lines
// start with a space, until the first line that is exactly "\n". The
// message is everything after that line; without one it is empty. A
// "\n" line in the parent, author or committer position also starts the
// message. Out-of-place tree, parent, author and committer lines are
// dropped, whatever their content.
func parseCommitHead(id plumbing.Hash, data []byte, c *commitHead) error {
	*c = commitHead{hash: id, parents: c.parents[:0]}
	line, rest := cutLine(data)
	if len(line) == 0 || isBlank(line) {
		return errNoTree
	}
	key, val := splitHeaderLine(line)
	if string(key) != "tree" {
		return errTreeNotFirst
	}
	if !parseHex(val, &c.tree) {
		return errBadTreeID
	}
	// Parents.
	var end bool
	for {
		if line, rest, end = c.nextHeader(rest); end {
			return nil
		}
		if key, val = splitHeaderLine(line); string(key) != "parent" {
			break
		}
		var p plumbing.Hash
		if !parseHex(val, &p) {
			return errBadParent
		}
		c.parents = append(c.parents, p)
	}
	// line is the first after the parents: the author's, if it is one.
	if string(key) == "author" {
		c.author, c.email, c.authorWhen = decodeSignature(val)
		if line, rest, end = c.nextHeader(rest); end {
			return nil
		}
		key, val = splitHeaderLine(line)
	}
	if string(key) == "committer" {
		_, _, c.committerWhen = decodeSignature(val)
	}
	// The other headers, up to the blank line.
	for !end {
		_, rest, end = c.nextHeader(rest)
	}
	return nil
}

// nextHeader cuts the next header line off rest. end says the headers
// ended there: with the data (no message), or at the blank line, after
// which the rest is c.message.
func (c *commitHead) nextHeader(rest []byte) (line, after []byte, end bool) {
	if len(rest) == 0 {
		return nil, nil, true
	}
	line, rest = cutLine(rest)
	if isBlank(line) {
		c.message = rest
		return nil, nil, true
	}
	return line, rest, false
}

// cutLine splits off data's first line, with its "\n" if it has one.
func cutLine(data []byte) (line, rest []byte) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return data[:i+1], data[i+1:]
	}
	return data, nil
}

func isBlank(line []byte) bool { return len(line) == 1 && line[0] == '\n' }

// splitHeaderLine is go-git's splitHeader: the key before the first
// space and the value after it, the line's "\n" dropped; a nil value
// for a line without a space.
func splitHeaderLine(line []byte) (key, val []byte) {
	line = bytes.TrimRight(line, "\n")
	key, val, ok := bytes.Cut(line, []byte{' '})
	if !ok {
		return line, nil
	}
	return key, val
}

// parseHex reads a 40-digit hex id (either case, as go-git's IsHash).
func parseHex(val []byte, h *plumbing.Hash) bool {
	if len(val) != 2*len(h) {
		return false
	}
	_, err := hex.Decode(h[:], val)
	return err == nil
}

// decodeSignature is go-git's Signature.Decode, for "Name <email> time
// zone": the time is read as Unix seconds (the zone changes the
// location, never the instant, and the walk keeps only the instant).
func decodeSignature(b []byte) (name, email []byte, when time.Time) {
	open := bytes.LastIndexByte(b, '<')
	end := bytes.LastIndexByte(b, '>')
	if open < 0 || end < 0 || end < open {
		return nil, nil, time.Time{}
	}
	name, email = bytes.Trim(b[:open], " "), b[open+1:end]
	if end+2 < len(b) {
		t := b[end+2:]
		if sp := bytes.IndexByte(t, ' '); sp >= 0 {
			t = t[:sp]
		}
		if ts, ok := parseInt64(t); ok {
			when = time.Unix(ts, 0)
		}
	}
	return name, email, when
}

// parseInt64 is strconv.ParseInt(string(b), 10, 64) without the string:
// an optional sign, then one or more digits, in range.
func parseInt64(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, false
	}
	var n uint64
	for _, d := range b {
		if d < '0' || d > '9' {
			return 0, false
		}
		if n > (1<<63)/10 {
			return 0, false
		}
		n = n*10 + uint64(d-'0')
		if n > 1<<63 {
			return 0, false
		}
	}
	if neg {
		return -int64(n), true // -(1<<63) wraps to itself: in range
	}
	if n > 1<<63-1 {
		return 0, false
	}
	return int64(n), true
}

// firstLineBytes is firstLine(string(msg)), copying only the line.
func firstLineBytes(msg []byte) string {
	msg = bytes.TrimLeft(msg, "\n")
	if i := bytes.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return string(bytes.TrimRight(msg, "\r"))
}

// keeper copies what the walk keeps of each commit out of the raw
// object: names interned (git/git's 85,000 commits have 2,000 authors),
// parent ids into shared blocks, not a slice each.
type keeper struct {
	names map[string]string
	block []plumbing.Hash
}

func (k *keeper) name(b []byte) string {
	if s, ok := k.names[string(b)]; ok {
		return s
	}
	if k.names == nil {
		k.names = map[string]string{}
	}
	s := string(b)
	k.names[s] = s
	return s
}

// parents returns a copy of ps (nil for none), which nothing may append to.
func (k *keeper) parents(ps []plumbing.Hash) []plumbing.Hash {
	if len(ps) == 0 {
		return nil
	}
	if cap(k.block)-len(k.block) < len(ps) {
		k.block = make([]plumbing.Hash, 0, max(1024, len(ps)))
	}
	at := len(k.block)
	k.block = append(k.block, ps...)
	return k.block[at:len(k.block):len(k.block)]
}
