package awsops

import (
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// bodyShield is an SDK HTTP client with one fix: request bodies are handed
// to net/http without their WriteTo method.
//
// smithy-go closes the request body as soon as the response headers
// arrive, and its body's WriteTo then returns io.EOF as an error. When a
// server answers before net/http has made its final "no extra bytes" read
// of the body (a fast endpoint such as a loopback emulator or a nearby
// VPC endpoint), net/http takes that io.EOF for a failed write and closes
// the connection under the response still being read: "use of closed
// network connection". A plain Read returns io.EOF as end of stream, which
// is what net/http expects.
type bodyShield struct{ inner aws.HTTPClient }

// shield wraps an SDK HTTP client (LoadConfig wraps the one the config
// loader built, so that AWS_CA_BUNDLE, which the loader applies only to its
// own client type, keeps working).
func shield(c aws.HTTPClient) aws.HTTPClient {
	if c == nil {
		c = awshttp.NewBuildableClient()
	}
	if _, ok := c.(bodyShield); ok {
		return c
	}
	return bodyShield{c}
}

func (c bodyShield) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = readOnly{r.Body}
	}
	return c.inner.Do(r)
}

type readOnly struct{ rc io.ReadCloser }

func (b readOnly) Read(p []byte) (int, error) { return b.rc.Read(p) }
func (b readOnly) Close() error               { return b.rc.Close() }
