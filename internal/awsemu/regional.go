package awsemu

// Regional Bedrock endpoints: the TLS endpoint also answers as
// bedrock.<region>.amazonaws.com (and .amazonaws.com.cn), with a
// certificate for that name signed by the emulator's own CA, so a client
// that resolves AWS's real endpoint for a region (verify without
// --endpoint-url) reaches the emulator through RegionalClient and the
// emulator knows the region it was asked in. Bearer tokens are then held
// to where AWS accepts them (checkBearer): a short-term key only in the
// region it was signed for, a long-term key only in its partition.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

// regionalHostRE matches Bedrock's regional host names, in every
// partition's DNS suffix
// (https://docs.aws.amazon.com/general/latest/gr/bedrock.html).
var regionalHostRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^bedrock\.([a-z]{2,4}(?:-[a-z]+)+-\d{1,2})\.[a-z0-9.-]+$`)
})

// regionOfHost returns the region a Bedrock host name names.
func regionOfHost(host string) (string, bool) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	m := regionalHostRE().FindStringSubmatch(strings.ToLower(host))
	if m == nil {
		return "", false
	}
	return m[1], true
}

// partitionOfRegion names the partition of a region by its prefix
// (https://docs.aws.amazon.com/whitepapers/latest/aws-fault-isolation-boundaries/partitions.html).
func partitionOfRegion(region string) string {
	for _, p := range [][2]string{{"us-gov-", "aws-us-gov"}, {"cn-", "aws-cn"}, {"us-isob-", "aws-iso-b"}, {"us-iso-", "aws-iso"}, {"eu-isoe-", "aws-iso-e"}, {"us-isof-", "aws-iso-f"}, {"eusc-", "aws-eusc"}} {
		if strings.HasPrefix(region, p[0]) {
			return p[1]
		}
	}
	return "aws"
}

// regionalCA signs a certificate for each regional host name asked for.
type regionalCA struct {
	cert  *x509.Certificate
	key   *ecdsa.PrivateKey
	mu    sync.Mutex
	leafs map[string]*tls.Certificate
}

func newRegionalCA() (*regionalCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("awsemu: CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "awsemu regional CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("awsemu: CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("awsemu: CA certificate: %w", err)
	}
	return &regionalCA{cert: cert, key: key, leafs: map[string]*tls.Certificate{}}, nil
}

// getCertificate answers a regional host name with its own certificate;
// any other name (an IP address, none) gets the endpoint's default one.
func (ca *regionalCA) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := strings.ToLower(hello.ServerName)
	if _, ok := regionOfHost(name); !ok {
		return nil, nil
	}
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if c, ok := ca.leafs[name]; ok {
		return c, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(int64(len(ca.leafs) + 2)), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, err
	}
	c := &tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key}
	ca.leafs[name] = c
	return c, nil
}

// RegionalClient returns an HTTP client that sends every request, whatever
// its host, to the TLS endpoint, trusting the emulator's certificates: a
// client that resolves bedrock.<region>.amazonaws.com reaches the emulator
// as that region's endpoint.
func (s *Server) RegionalClient() *http.Client {
	addr := s.tlsSrv.Listener.Addr().String()
	var d net.Dialer
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig: s.TLSConfig(),
	}}
}
