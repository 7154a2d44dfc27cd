package git

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// The one reader of git's raw diff output (`git log --raw -c -z` and
// `git diff --raw -z`), for the SHA-1 log walk (fast.go) and the SHA-256
// git CLI path (cliscan.go).

// rawEntryBlob reads a raw diff entry, ":<modes> <ids> <status>" with one
// more mode and id than the commit has parents (-c), and returns the id of
// the blob it leaves at its path; names is false when it leaves none (a
// deletion, a submodule's gitlink).
func rawEntryBlob(tok []byte) (id string, names bool, err error) {
	parents := 0
	for parents < len(tok) && tok[parents] == ':' {
		parents++
	}
	f := strings.Fields(string(tok[parents:]))
	if parents == 0 || len(f) != 2*(parents+1)+1 {
		return "", false, fmt.Errorf("git log: bad diff entry %.80q", tok)
	}
	mode, id := f[parents], f[2*parents+1]
	if mode == "160000" || mode == "000000" || strings.Trim(id, "0") == "" {
		return id, false, nil
	}
	return id, true, nil
}

// parseRawLog reads NUL-separated `git log --raw -z` output whose format
// starts each commit with "commit ": commit gets the rest of that header,
// blob every entry that leaves a blob, with its path. An error from either
// stops the parse and is returned as is; malformed output is an error
// starting "git log:".
func parseRawLog(r *bufio.Reader, commit func(header []byte) error, blob func(id string, path []byte) error) error {
	inCommit := false
	pending, names, expectPath := "", false, false
	for {
		tok, err := r.ReadBytes(0)
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("git log: %v", err)
		}
		eof := err != nil
		if !eof {
			tok = tok[:len(tok)-1]
		}
		switch {
		case expectPath && eof:
			return fmt.Errorf("git log: output ends inside a diff entry")
		case expectPath:
			expectPath = false
			if names {
				if err := blob(pending, tok); err != nil {
					return err
				}
			}
		default:
			tok = bytes.TrimLeft(tok, "\n")
			switch {
			case len(tok) == 0:
			case bytes.HasPrefix(tok, []byte("commit ")):
				inCommit = true
				if err := commit(tok[len("commit "):]); err != nil {
					return err
				}
			case tok[0] == ':':
				if !inCommit {
					return fmt.Errorf("git log: diff entry before any commit")
				}
				if pending, names, err = rawEntryBlob(tok); err != nil {
					return err
				}
				expectPath = true
			default:
				return fmt.Errorf("git log: unexpected output %.80q", tok)
			}
		}
		if eof && expectPath {
			return fmt.Errorf("git log: output ends inside a diff entry")
		}
		if eof {
			return nil
		}
	}
}
