package cmdutil

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestEnv(t *testing.T) {
	io := &IO{}
	if v := io.Env("HOME"); v != "" {
		t.Errorf("no Getenv: Env = %q, want an empty environment", v)
	}
	io.Getenv = func(k string) string { return map[string]string{"A": "1", "B": "2"}[k] }
	over := io.WithEnv(map[string]string{"A": "x", "B": ""})
	if a, b := over.Env("A"), over.Env("B"); a != "x" || b != "" {
		t.Errorf("overlay: A=%q B=%q", a, b)
	}
	if a := io.Env("A"); a != "1" {
		t.Errorf("the overlay changed its parent: A=%q", a)
	}
}

func TestWithContextReadsThrough(t *testing.T) {
	want := strings.Repeat("0123456789", 20000) // several pump reads
	sio := (&IO{In: strings.NewReader(want)}).WithContext(context.Background())
	got, err := io.ReadAll(sio.In)
	if err != nil || string(got) != want {
		t.Fatalf("read %d bytes, err %v; want %d", len(got), err, len(want))
	}
}

type stuck struct{ reading chan struct{} }

func (s stuck) Read([]byte) (int, error) { close(s.reading); select {} }

func TestWithContextGivesUpOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	in := stuck{make(chan struct{})}
	sio := (&IO{In: in}).WithContext(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := sio.In.Read(make([]byte, 8))
		done <- err
	}()
	<-in.reading
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read still blocked after cancel")
	}
	if _, err := sio.In.Read(make([]byte, 8)); !errors.Is(err, context.Canceled) {
		t.Fatalf("second read: %v", err)
	}
}
