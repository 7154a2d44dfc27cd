package files

import (
	"context"
	"testing"
	"time"
)

// TestQueueCompressedFirst: the workers take compressed files before the
// others, and every job exactly once.
func TestQueueCompressedFirst(t *testing.T) {
	q, stop := newQueue(context.Background())
	defer stop()
	for _, p := range []string{"a.txt", "dir/b.tar.bz2", "c.go", "D.GZ", "e.zip.txt", "f.jar"} {
		if !q.send(job{path: p, display: p}) {
			t.Fatal("send failed")
		}
	}
	q.close()
	var got []string
	for {
		j, ok := q.next()
		if !ok {
			break
		}
		got = append(got, j.display)
	}
	want := []string{"dir/b.tar.bz2", "D.GZ", "f.jar", "a.txt", "c.go", "e.zip.txt"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}

// TestQueueSendEndsWithContext: a walk blocked on a full queue stops when
// the context ends.
func TestQueueSendEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	q, stop := newQueue(ctx)
	defer stop()
	for range firstAhead {
		q.send(job{display: "x.bz2"})
	}
	sent := make(chan bool)
	go func() { sent <- q.send(job{display: "y.bz2"}) }()
	select {
	case <-sent:
		t.Fatal("send on a full queue returned before the context ended")
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	if <-sent {
		t.Fatal("send on a full queue succeeded after the context ended")
	}
}
