package cli

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bks-dev/bks/internal/awsemu"
)

// hangingEndpoint accepts TCP connections and never answers. accepted is
// closed once the first connection arrives.
func hangingEndpoint(t *testing.T) (url string, accepted <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{})
	var once sync.Once
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			once.Do(func() { close(ch) })
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String(), ch
}

// fakeAWSEnv gives the SDK static credentials and no shared files, so no
// command looks for the machine's real credentials.
func fakeAWSEnv(t *testing.T) {
	dir := t.TempDir()
	awsemu.IsolateEnv()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": awsemu.CallerAccessKeyID, "AWS_SECRET_ACCESS_KEY": "fake", "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
	} {
		t.Setenv(k, v)
	}
}

// TestTimelineCtrlCExits130 is the repro: Ctrl-C while timeline
// waits on an endpoint that never answers.
func TestTimelineCtrlCExits130(t *testing.T) {
	fakeAWSEnv(t)
	url, accepted := hangingEndpoint(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"timeline", "BedrockAPIKey-abcd", "--endpoint-url", url}, &IO{
			In: strings.NewReader(""), Out: &out, Err: &errb, Getenv: func(string) string { return "" },
		})
	}()
	select {
	case <-accepted:
	case <-time.After(30 * time.Second):
		t.Fatal("timeline never reached the endpoint")
	}
	cancel() // what SIGINT does to the context main passes
	var code int
	select {
	case code = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("timeline did not return after the interrupt")
	}
	if code != ExitCanceled || !strings.Contains(errb.String(), "interrupted") || strings.Contains(errb.String(), "context canceled") {
		t.Fatalf("exit %d, stderr %q; want %d and \"interrupted\", never \"context canceled\"", code, errb.String(), ExitCanceled)
	}
}
