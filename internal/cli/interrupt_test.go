package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/bks-dev/bks/internal/awsemu"
	"github.com/bks-dev/bks/internal/cli/cmdutil"
	"github.com/bks-dev/bks/internal/testkeys"
)

// interruptCase is how one command is interrupted: it returns the
// command's arguments, its standard input and a channel closed once the
// command is blocked (reading stdin, waiting on an endpoint that never
// answers, or serving until interrupted). A nil channel means the command
// cannot block: it runs with a context cancelled beforehand.
type interruptCase func(t *testing.T, stdout *syncBuffer) (args []string, stdin io.Reader, blocked <-chan struct{})

// blockingStdin is a terminal nobody types into: Read blocks until the
// test ends.
type blockingStdin struct {
	reading chan struct{}
	once    sync.Once
	end     <-chan struct{}
}

func newBlockingStdin(t *testing.T) *blockingStdin {
	end := make(chan struct{})
	t.Cleanup(func() { close(end) })
	return &blockingStdin{reading: make(chan struct{}), end: end}
}

func (b *blockingStdin) Read(p []byte) (int, error) {
	b.once.Do(func() { close(b.reading) })
	<-b.end
	return 0, io.EOF
}

// onStdin blocks the command reading standard input.
func onStdin(args ...string) interruptCase {
	return func(t *testing.T, _ *syncBuffer) ([]string, io.Reader, <-chan struct{}) {
		in := newBlockingStdin(t)
		return args, in, in.reading
	}
}

// onEndpoint blocks the command on an endpoint that accepts connections
// and never answers; URL in args is replaced by its address.
func onEndpoint(scheme string, args ...string) interruptCase {
	return func(t *testing.T, _ *syncBuffer) ([]string, io.Reader, <-chan struct{}) {
		url, accepted := hangingEndpoint(t)
		url = strings.Replace(url, "http://", scheme+"://", 1)
		out := make([]string, len(args))
		for i, a := range args {
			out[i] = strings.ReplaceAll(a, "URL", url)
		}
		return out, strings.NewReader(""), accepted
	}
}

// onRegistry is onEndpoint for an image reference: URL becomes the
// endpoint's host:port, with no scheme.
func onRegistry(args ...string) interruptCase {
	return func(t *testing.T, stdout *syncBuffer) ([]string, io.Reader, <-chan struct{}) {
		out, in, accepted := onEndpoint("http", args...)(t, stdout)
		for i := range out {
			out[i] = strings.TrimPrefix(out[i], "http://")
		}
		return out, in, accepted
	}
}

// cancelledBefore runs the command with a context already cancelled.
func cancelledBefore(args ...string) interruptCase {
	return func(*testing.T, *syncBuffer) ([]string, io.Reader, <-chan struct{}) {
		return args, strings.NewReader(""), nil
	}
}

// interruptCases has one entry per runnable command, keyed by its path
// without "bks ". TestInterruptEveryCommand fails when a command has none.
func interruptCases(t *testing.T) map[string]interruptCase {
	const acct = "111122223333"
	key := testkeys.LongTerm("BedrockAPIKey-intr", acct, testkeys.Secret(71))
	dir := t.TempDir()
	writeFile := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tree := writeTree(t, map[string]string{".env": "AWS_BEARER_TOKEN_BEDROCK=" + key + "\n"})
	cfg := writeFile("accounts.toml", fmt.Sprintf("[[accounts]]\nid = %q\nname = \"intr\"\nrevoke = true\n", acct))
	var findings bytes.Buffer
	if code := Run(context.Background(), []string{"detect", "files", "--format", "jsonl", "--show-secrets", tree}, &IO{Out: &findings, Err: io.Discard}); code != ExitFound {
		t.Fatalf("detect for the triage case: exit %d", code)
	}
	findingsFile := writeFile("findings.jsonl", findings.String())
	seed, err := filepath.Abs("../../testdata/aws/scenario.json")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]interruptCase{
		"cleanup":          onEndpoint("http", "cleanup", "--endpoint-url", "URL", "--dry-run"),
		"config check":     cancelledBefore("config", "check", filepath.Join(dir, "missing.toml")),
		"config init":      cancelledBefore("config", "init", filepath.Join(dir, "init.toml")),
		"decode-key":       onStdin("decode-key", "-"),
		"demo":             cancelledBefore("demo", "--files-only", "--dir", filepath.Join(dir, "demo")),
		"detect files":     cancelledBefore("detect", "files", tree),
		"detect git":       cancelledBefore("detect", "git", "../.."),
		"detect github":    onEndpoint("http", "detect", "github", "--api-url", "URL", "--org", "acme"),
		"detect image":     onRegistry("detect", "image", "URL/acme/app:1"),
		"detect staged":    cancelledBefore("detect", "staged", "-C", "../.."),
		"detect stdin":     onStdin("detect", "stdin"),
		"dev aws-emulator": serving("dev", "aws-emulator", "--seed", seed, "--ca-file", filepath.Join(dir, "ca.pem")),
		"hook install":     cancelledBefore("hook", "install", "-C", dir),
		"hook uninstall":   cancelledBefore("hook", "uninstall", "-C", dir),
		"merge":            onStdin("merge", "-"),
		"report":           onEndpoint("http", "report", "--endpoint-url", "URL", "--no-cost", "BedrockAPIKey-abcd"),
		"revoke-key":       onEndpoint("http", "revoke-key", "--endpoint-url", "URL", "--dry-run", "BedrockAPIKey-abcd"),
		"rules list":       cancelledBefore("rules", "list"),
		"rules show":       cancelledBefore("rules", "show", "bedrock-long-term"),
		"rules test":       cancelledBefore("rules", "test"),
		"scan":             onEndpoint("http", "scan", "--endpoint-url", "URL"),
		"scp list":         cancelledBefore("scp", "list"),
		"scp show":         cancelledBefore("scp", "show", "all"),
		"serve":            serving("serve", "--listen", "127.0.0.1:0", "--db", filepath.Join(dir, "serve.db"), "--webhook-secret", "x"),
		"timeline":         onEndpoint("http", "timeline", "BedrockAPIKey-abcd", "--endpoint-url", "URL"),
		"triage":           onEndpoint("http", "triage", findingsFile, "--config", cfg, "--execute", "--endpoint-url", "URL", "--audit-log", filepath.Join(dir, "audit.jsonl")),
		"verify":           onEndpoint("https", "verify", "--endpoint-url", "URL", key),
	}
	for _, shell := range []string{"bash", "fish", "powershell", "zsh"} {
		cases["completion "+shell] = cancelledBefore("completion", shell)
	}
	cases["help"] = cancelledBefore("help", "detect")
	cases["serve import-state"] = cancelledBefore("serve", "import-state", writeFile("state.json", `{"version":1,"incidents":{}}`), "--db", filepath.Join(dir, "import.db"))
	cases["serve eventbridge"] = cancelledBefore("serve", "eventbridge", "--url", "https://bks.example.com/events/aws")
	cases["kpis"] = onEndpoint("http", "kpis", "--endpoint-url", "URL", "--regions", "us-east-1")
	cases["detect gitlab"] = onEndpoint("http", "detect", "gitlab", "--api-url", "URL", "--group", "acme")
	cases["detect huggingface"] = onEndpoint("http", "detect", "huggingface", "--api-url", "URL", "--org", "acme")
	return cases
}

// serving is a command that serves until interrupted: it is blocked once
// it has printed its address.
func serving(args ...string) interruptCase {
	return func(_ *testing.T, stdout *syncBuffer) ([]string, io.Reader, <-chan struct{}) {
		return args, strings.NewReader(""), stdout.written()
	}
}

// runnableCommands lists every command of the tree that runs something
// (groups such as "detect" only refuse a missing subcommand).
func runnableCommands() []string {
	var out []string
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Runnable() && c.HasParent() && !c.HasSubCommands() {
			out = append(out, strings.TrimPrefix(c.CommandPath(), "bks "))
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(NewRoot(context.Background(), cmdutil.New(&IO{})))
	sort.Strings(out)
	return out
}

// cleanStops are the services for which an interrupt is the normal end
// (SIGTERM from systemd or Kubernetes): they stop cleanly and exit 0.
var cleanStops = map[string]bool{"serve": true}

// TestInterruptEveryCommand interrupts every command the way Ctrl-C does
// (main cancels Run's context) and wants exit 130, "interrupted" on stderr
// and never the SDK's "context canceled".
func TestInterruptEveryCommand(t *testing.T) {
	fakeAWSEnv(t)
	cases := interruptCases(t)
	for _, name := range runnableCommands() {
		if _, ok := cases[name]; !ok {
			t.Errorf("bks %s has no case in interruptCases: say how to interrupt it", name)
		}
	}
	for name, c := range cases {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			var stdout, stderr syncBuffer
			args, stdin, blocked := c(t, &stdout)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if blocked == nil {
				cancel()
			}
			done := make(chan int, 1)
			go func() {
				done <- Run(ctx, args, &IO{In: stdin, Out: &stdout, Err: &stderr, Getenv: func(string) string { return "" }})
			}()
			if blocked != nil {
				select {
				case <-blocked:
				case code := <-done:
					t.Fatalf("bks %s ended (exit %d) before it could be interrupted: %s", name, code, stderr.String())
				case <-time.After(30 * time.Second):
					t.Fatalf("bks %s never blocked", name)
				}
				cancel()
			}
			select {
			case code := <-done:
				errOut := stderr.String()
				if cleanStops[name] {
					if code != ExitOK || strings.Contains(errOut, "interrupted") {
						t.Errorf("bks %s: exit %d, stderr %q; want a clean stop, exit 0", name, code, errOut)
					}
					return
				}
				if code != ExitCanceled || !strings.Contains(errOut, "interrupted") || strings.Contains(errOut, "context canceled") {
					t.Errorf("bks %s: exit %d, stderr %q; want %d, \"interrupted\" and never \"context canceled\"", name, code, errOut, ExitCanceled)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("bks %s still runs 20s after the interrupt", name)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for the command's goroutines, which
// can tell when something was first written.
type syncBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	first chan struct{}
	once  sync.Once
}

func (s *syncBuffer) written() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.first == nil {
		s.first = make(chan struct{})
	}
	return s.first
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.first != nil {
		s.once.Do(func() { close(s.first) })
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

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
