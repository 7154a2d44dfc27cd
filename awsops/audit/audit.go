// Package audit appends one JSON line per AWS write call bks makes (time,
// account, action, target, result), so what a cleanup or revocation did —
// or failed to do — can be reviewed and replayed. Safe for concurrent use.
package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Record is one write call. JSON names are stable.
type Record struct {
	Time    time.Time `json:"time"`
	Account string    `json:"account"`
	Action  string    `json:"action"`           // e.g. iam:DeleteAccessKey
	Target  string    `json:"target"`           // user name, key id, policy ARN…
	User    string    `json:"user,omitempty"`   // the user acted on
	Result  string    `json:"result"`           // ok, already-gone, error
	Error   string    `json:"error,omitempty"`  // AWS error code and message
	Run     string    `json:"run,omitempty"`    // id shared by one bks run
	Caller  string    `json:"caller,omitempty"` // ARN of the identity acting
}

// Results.
const (
	ResultOK     = "ok"
	ResultGone   = "already-gone"
	ResultFailed = "error"
)

// Log writes records as JSON Lines. A nil *Log discards.
type Log struct {
	mu     sync.Mutex
	w      io.Writer
	closer io.Closer
	Run    string
	Caller string
	now    func() time.Time
}

// Open appends to path (created 0600 when missing).
func Open(path string) (*Log, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	return &Log{w: f, closer: f, now: time.Now}, nil
}

// FileName is the audit log's name in the state directory.
const FileName = "bks-audit.jsonl"

// FlagHelp describes the default for --audit-log flags.
const FlagHelp = "append every write call to this JSON Lines file (default $XDG_STATE_HOME/bks/" + FileName + ", else ~/.local/state/bks/)"

// DefaultPath is where the log goes when the user names none: the user's
// state directory ($XDG_STATE_HOME/bks, else $HOME/.local/state/bks, per
// the XDG Base Directory spec), never the current directory, which is
// usually the repository being scanned. getenv reads the environment.
func DefaultPath(getenv func(string) string) (string, error) {
	if d := getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "bks", FileName), nil
	}
	if h := getenv("HOME"); filepath.IsAbs(h) {
		return filepath.Join(h, ".local", "state", "bks", FileName), nil
	}
	return "", fmt.Errorf("audit log: neither XDG_STATE_HOME nor HOME is set: name the file with --audit-log")
}

// OpenOrDefault opens path, or DefaultPath when path is "" (creating its
// directory 0700), and returns the path it opened.
func OpenOrDefault(path string, getenv func(string) string) (*Log, string, error) {
	if path == "" {
		p, err := DefaultPath(getenv)
		if err != nil {
			return nil, "", err
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return nil, "", fmt.Errorf("audit log: %w", err)
		}
		path = p
	}
	l, err := Open(path)
	return l, path, err
}

// New writes to w.
func New(w io.Writer) *Log { return &Log{w: w, now: time.Now} }

// Write appends r, filling Time, Run and Caller when empty. Each record is
// written whole with one Write call, then synced when the writer is a file.
func (l *Log) Write(r Record) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if r.Time.IsZero() {
		r.Time = l.now().UTC()
	}
	if r.Run == "" {
		r.Run = l.Run
	}
	if r.Caller == "" {
		r.Caller = l.Caller
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("audit: encode: %w", err)
	}
	if _, err := l.w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("audit: write: %w", err)
	}
	if f, ok := l.w.(*os.File); ok {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("audit: sync: %w", err)
		}
	}
	return nil
}

// Close closes the file opened by Open.
func (l *Log) Close() error {
	if l == nil || l.closer == nil {
		return nil
	}
	return l.closer.Close()
}
