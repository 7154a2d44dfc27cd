// Package sources turns places where keys hide (files, stdin, archives, git
// history, GitHub organizations) into overlapping chunks of bytes. Sources know
// nothing about what a key looks like: how much consecutive chunks overlap
// is the consumer's to say (package scan sets it from the detector engine),
// and is given to Chunks.
package sources

import (
	"context"

	"github.com/bks-dev/bks/location"
)

// Chunk is a window of one blob's bytes. Consecutive chunks of a blob
// overlap: Data[Limit:] is repeated at the start of the next chunk, so that a
// key lying across the boundary is seen whole by exactly one chunk. Matches
// starting at or after Limit belong to the next chunk.
//
// Data[:Start] is look-back: the end of the previous chunk's own bytes,
// for checks that read back from a match to the start of its line (keys
// written in pieces across wrapped lines). Matches starting before Start
// belong to the previous chunk.
type Chunk struct {
	Data   []byte
	Start  int   // Data[Start:Limit] is this chunk's own
	Limit  int   // Data[Limit:] is look-ahead
	Offset int64 // offset of Data[Start] in the blob
	Line   int   // 1-based line number of Data[Start]
	Column int   // 1-based byte column of Data[Start]
	// Origin says where the blob came from; its Line, Column and Encoding
	// are unset (the scan sets them for each finding). One Origin is
	// shared by all the chunks of one blob; it must not be modified once
	// yielded.
	Origin *location.Location
}

// Source produces chunks.
type Source interface {
	// Chunks cuts every blob with split and calls yield for every chunk,
	// and returns when all are yielded, yield fails, or ctx is done.
	// split's Overlap is the consumer's longest match; its Size bounds
	// the memory a source holds per blob. A Source documents whether it
	// calls yield from several goroutines at once. Chunk.Data is only
	// valid during the call to yield. Errors reading one item that do not
	// stop the rest are reported through the source's own error handler,
	// not returned.
	Chunks(ctx context.Context, split Chunker, yield func(Chunk) error) error
}

// ErrorHandler receives errors about one item (a file, an object) that did
// not stop the scan. path names the item.
type ErrorHandler func(path string, err error)
