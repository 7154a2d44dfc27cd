// Package sources turns places where keys hide (files, stdin, archives, git
// history, GitHub organizations) into overlapping chunks of bytes. Sources know
// nothing about what a key looks like.
package sources

import (
	"context"
	"time"
)

// Origin says where a chunk's bytes came from. One Origin is shared by all the
// chunks of one blob; it must not be modified once yielded.
type Origin struct {
	// Path of the file; archive members are "archive.zip!inner/path".
	Path string
	// Git history (empty elsewhere).
	Repo    string
	Commit  string
	Author  string
	Email   string
	Date    time.Time
	Message string // first line of the commit message
	InHead  *bool  // is the content still present at HEAD of the default branch
	HTMLURL string // link to the file at that commit (GitHub sweeps)
	// Kind says what the bytes are when they are not a file's content:
	// "commit-message", "tag-message", "stdin".
	Kind string
	// Transcoded is set when the bytes were converted before scanning,
	// e.g. "utf-16le"; line and column then refer to the converted text.
	Transcoded string
}

// Chunk is a window of one blob's bytes. Consecutive chunks of a blob
// overlap: Data[Limit:] is repeated at the start of the next chunk, so that a
// key lying across the boundary is seen whole by exactly one chunk. Matches
// starting at or after Limit belong to the next chunk.
type Chunk struct {
	Data   []byte
	Limit  int   // Data[:Limit] is this chunk's own; the rest is look-ahead
	Offset int64 // offset of Data[0] in the blob
	Line   int   // 1-based line number of Data[0]
	Column int   // 1-based byte column of Data[0]
	Origin *Origin
}

// Source produces chunks.
type Source interface {
	// Chunks calls yield for every chunk, and returns when all are yielded,
	// yield fails, or ctx is done. A Source documents whether it calls
	// yield from several goroutines at once. Chunk.Data is only valid during
	// the call to yield. Errors reading one item that do not stop the rest
	// are reported through the source's own error handler, not returned.
	Chunks(ctx context.Context, yield func(Chunk) error) error
}

// ErrorHandler receives errors about one item (a file, an object) that did
// not stop the scan. path names the item.
type ErrorHandler func(path string, err error)
