package awsops

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// countingClient counts the attempts the SDK sends.
type countingClient struct {
	next aws.HTTPClient
	n    atomic.Int32
}

func (c *countingClient) Do(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.Do(r)
}

// whoAmIAttempts calls sts:GetCallerIdentity at endpoint and returns the
// attempts sent, what Settings.Notify was told, and the error.
func whoAmIAttempts(t *testing.T, endpoint string, maxAttempts int) (int, []string, error) {
	t.Helper()
	var mu sync.Mutex
	var notes []string
	cfg, err := LoadConfig(context.Background(), Settings{
		Region: "us-east-1", EndpointURL: endpoint, MaxAttempts: maxAttempts, Rate: -1,
		Notify: func(msg string) { mu.Lock(); notes = append(notes, msg); mu.Unlock() },
		LoadOptions: []func(*config.LoadOptions) error{
			config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("id", "secret", "")),
			config.WithSharedConfigFiles([]string{}), config.WithSharedCredentialsFiles([]string{}),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	cc := &countingClient{next: cfg.HTTPClient}
	cfg.HTTPClient = cc
	_, err = WhoAmI(context.Background(), sts.NewFromConfig(cfg))
	mu.Lock()
	defer mu.Unlock()
	return int(cc.n.Load()), notes, err
}

// TestRetryGivesUpSoonOnRefusedConnections: an endpoint that refuses
// connections (a wrong --endpoint-url) is tried DialAttempts times, each
// retry said through Notify; throttling keeps every attempt. Before: 8
// silent attempts over about 77 s.
func TestRetryGivesUpSoonOnRefusedConnections(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	n, notes, err := whoAmIAttempts(t, closed, 0)
	if n != DialAttempts || err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("refused: %d attempts, err %v; want %d and connection refused", n, err, DialAttempts)
	}
	if len(notes) != DialAttempts-1 || !strings.Contains(notes[0], l.Addr().String()) || !strings.Contains(notes[0], "connection refused") || !strings.Contains(notes[0], "retrying") {
		t.Errorf("notes %q; want one per retry naming the endpoint and the error", notes)
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>`))
	}))
	defer srv.Close()
	if n, notes, err := whoAmIAttempts(t, srv.URL, DialAttempts+1); n != DialAttempts+1 || err == nil || len(notes) != 0 {
		t.Errorf("throttled: %d attempts, err %v, notes %q; want %d, an error and no note", n, err, notes, DialAttempts+1)
	}
}
