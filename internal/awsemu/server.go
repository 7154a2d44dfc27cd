// Package awsemu is a loopback AWS emulator for tests and demos. It speaks
// the wire protocols the aws-sdk-go-v2 clients use — IAM and STS (Query
// protocol, XML replies), Organizations and CloudTrail (JSON 1.1), and
// Bedrock's GET /foundation-models with bearer auth over TLS — and keeps
// state across calls: users and everything that hangs on them, roles,
// AssumeRole sessions, CloudTrail events per region, organization accounts.
//
// It pages like AWS (Marker/IsTruncated, NextToken), answers NoSuchEntity,
// DeleteConflict and AccessDenied as AWS does — evaluating the caller's
// identity policies, the organization's SCPs and role trust policies
// (authz.go, trust.go) — refuses what IAM documents it refuses (strict.go;
// the list with sources is in README.md), requires a SigV4
// Authorization header (whose credential scope gives the region and
// service; the signature itself is not verified) and injects faults per
// operation (Fault). It binds 127.0.0.1 only.
//
// The emulator is reached only over HTTP: code under test never imports it.
// It is linked into the bks binary for `bks demo` and the hidden `bks dev
// aws-emulator` only (see package internal/demo).
package awsemu

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server is a running emulator: a plain HTTP endpoint and a TLS endpoint
// serving the same API (Bedrock's bearer-token clients insist on TLS).
type Server struct {
	// URL is the plain HTTP endpoint, e.g. http://127.0.0.1:40123.
	URL string
	// TLSURL is the HTTPS endpoint (self-signed certificate, see CertPEM).
	TLSURL string

	plain, tlsSrv *httptest.Server
	ca            *regionalCA // signs the regional Bedrock hosts' certificates (regional.go)

	mu       sync.Mutex
	st       *state
	faults   []*faultState
	calls    []Call
	buckets  map[string]*bucket // LookupEvents quota per account/region (throttle.go)
	now      func() time.Time
	trail    atomic.Bool // record Bedrock bearer calls in CloudTrail (trail.go)
	keyTrail atomic.Bool // record IAM key events in CloudTrail (trail.go)
}

// Options tune a new server.
type Options struct {
	// Addr to listen on for plain HTTP, e.g. "127.0.0.1:0" (default). Only
	// loopback addresses are accepted.
	Addr string
	// TLSAddr for the HTTPS endpoint (default 127.0.0.1:0).
	TLSAddr string
	// Now is the emulator's clock (default time.Now).
	Now func() time.Time
}

// Call is one request the emulator answered, in order.
type Call struct {
	Time    time.Time
	Account string
	Region  string
	Service string // iam, sts, organizations, cloudtrail, bedrock
	Action  string // e.g. ListUsers
	Params  map[string]string
	Status  int    // HTTP status of the reply
	Code    string // error code, when Status >= 400
}

// Write reports whether the call changes state (Create*, Delete*, Put*…).
func (c Call) Write() bool { return IsWriteAction(c.Action) }

// IsWriteAction reports whether an action name is a write (mutating) call.
func IsWriteAction(action string) bool {
	for _, p := range []string{"Create", "Delete", "Put", "Update", "Attach", "Detach", "Add", "Remove", "Deactivate", "Enable", "Upload", "Tag", "Untag", "Set", "Reset", "Change"} {
		if strings.HasPrefix(action, p) {
			return true
		}
	}
	return false
}

// New starts an emulator seeded with seed. Close it when done.
func New(seed *Seed, opts Options) (*Server, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	st, err := newState(seed, opts.Now().UTC())
	if err != nil {
		return nil, err
	}
	s := &Server{st: st, now: opts.Now}
	for _, f := range seed.Faults {
		s.Inject(f)
	}
	plainLn, err := listenLoopback(opts.Addr)
	if err != nil {
		return nil, err
	}
	tlsLn, err := listenLoopback(opts.TLSAddr)
	if err != nil {
		plainLn.Close()
		return nil, err
	}
	s.plain = &httptest.Server{Listener: plainLn, Config: &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}}
	s.plain.Start()
	if s.ca, err = newRegionalCA(); err != nil {
		plainLn.Close()
		tlsLn.Close()
		return nil, err
	}
	s.tlsSrv = &httptest.Server{Listener: tlsLn, Config: &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second},
		TLS: &tls.Config{GetCertificate: s.ca.getCertificate}}
	s.tlsSrv.StartTLS()
	s.URL = s.plain.URL
	s.TLSURL = s.tlsSrv.URL
	return s, nil
}

func listenLoopback(addr string) (net.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("awsemu: listen %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("awsemu: listen %q: only loopback addresses are allowed", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("awsemu: listen %q: %w", addr, err)
	}
	return ln, nil
}

// Close stops both endpoints.
func (s *Server) Close() {
	s.plain.Close()
	s.tlsSrv.Close()
}

// TLSClient returns an HTTP client that trusts the TLS endpoint.
func (s *Server) TLSClient() *http.Client { return s.tlsSrv.Client() }

// CertPEM returns the TLS endpoint's certificate and the CA of its
// regional host names in PEM, for AWS_CA_BUNDLE.
func (s *Server) CertPEM() []byte {
	return append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.tlsSrv.Certificate().Raw}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.ca.cert.Raw})...)
}

// CertPool returns a pool holding the TLS endpoint's certificate and the
// CA of its regional host names.
func (s *Server) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.tlsSrv.Certificate())
	p.AddCert(s.ca.cert)
	return p
}

// TLSConfig returns a client TLS configuration trusting the TLS endpoint.
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: s.CertPool(), MinVersion: tls.VersionTLS12}
}

// Calls returns a copy of every call answered so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CountCalls counts the calls answered for action ("" = all).
func (s *Server) CountCalls(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if action == "" || c.Action == action {
			n++
		}
	}
	return n
}

// CountCode counts the calls answered with the error code code (e.g.
// ThrottlingException).
func (s *Server) CountCode(code string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.Code == code {
			n++
		}
	}
	return n
}

// WriteCalls returns the calls that change state (answered or refused).
func (s *Server) WriteCalls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if c.Write() {
			out = append(out, c)
		}
	}
	return out
}

// ResetCalls forgets the call log.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	s.calls = nil
	s.mu.Unlock()
}

// Mutate runs fn on an account's state under the emulator's lock, e.g. to
// give a user a new access key between a scan and a cleanup. Users and
// credentials added by fn get ids and defaults as seeded ones do.
func (s *Server) Mutate(account string, fn func(a *Account) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.st.accounts[account]
	if !ok {
		return fmt.Errorf("awsemu: no account %s", account)
	}
	if err := fn(a); err != nil {
		return err
	}
	now := s.now().UTC()
	for _, u := range a.Users {
		s.st.normalizeUser(a, u, now)
	}
	return nil
}

// Account returns a deep-enough copy of an account's users for assertions.
func (s *Server) User(account, name string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.st.accounts[account]
	if !ok {
		return User{}, false
	}
	u := findUser(a, name)
	if u == nil {
		return User{}, false
	}
	return *u, true
}

// UserNames lists an account's user names.
func (s *Server) UserNames(account string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.st.accounts[account]
	if !ok {
		return nil
	}
	var out []string
	for _, u := range sortedUsers(a) {
		out = append(out, u.Name)
	}
	return out
}

// apiError is an AWS error reply.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errNoSuchEntity(format string, a ...any) *apiError {
	return &apiError{404, "NoSuchEntity", fmt.Sprintf(format, a...)}
}

func errInvalid(format string, a ...any) *apiError {
	return &apiError{400, "ValidationError", fmt.Sprintf(format, a...)}
}

// request is a parsed call.
type request struct {
	account   string // whose state the call acts on
	callerARN string
	accessKey string
	region    string
	service   string
	action    string
	params    map[string]string // Query params, or top-level JSON strings
	json      map[string]any    // JSON 1.1 body
	protocol  string            // query, json, rest
	session   *session
	// hostRegion is the region a regional Bedrock host name named
	// (regional.go); empty when the emulator's own address was asked.
	hostRegion string
	// bearerType is LONG_TERM or SHORT_TERM for a Bedrock call made with
	// an API key, "" for one signed with SigV4 (trail.go).
	bearerType string
	// keyEvent is the CloudTrail record of a successful IAM key call
	// (trail.go): its requestParameters and responseElements.
	keyEvent *keyEvent
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, aerr := s.parse(r)
	if aerr != nil {
		s.record(req, aerr.status, aerr.code)
		writeError(w, req, aerr)
		return
	}
	f := s.matchFault(req)
	if f != nil {
		if f.Latency > 0 {
			select {
			case <-time.After(f.Latency.D()):
			case <-r.Context().Done():
				return
			}
		}
		if e := f.err(req); e != nil {
			s.record(req, e.status, e.code)
			writeError(w, req, e)
			return
		}
	}
	var body []byte
	var err error
	switch req.service {
	case "iam":
		body, err = s.iam(req)
	case "sts":
		body, err = s.sts(req)
	case "organizations":
		body, err = s.organizations(req)
	case "cloudtrail":
		body, err = s.cloudtrail(req)
	case "bedrock":
		body, err = s.bedrock(req, r)
	case "ce":
		body, err = s.costExplorer(req)
	case "account":
		body, err = s.account(req)
	default:
		err = &apiError{400, "InvalidAction", "service " + req.service + " is not emulated"}
	}
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = &apiError{500, "InternalFailure", err.Error()}
		}
		s.record(req, ae.status, ae.code)
		writeError(w, req, ae)
		return
	}
	s.record(req, 200, "")
	switch req.protocol {
	case "query":
		w.Header().Set("Content-Type", "text/xml")
	default:
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	}
	w.Header().Set("X-Amzn-RequestId", requestID())
	w.WriteHeader(200)
	w.Write(body)
}

func (s *Server) record(req *request, status int, code string) {
	if req == nil || req.action == "" {
		return
	}
	s.mu.Lock()
	s.calls = append(s.calls, Call{Time: s.now(), Account: req.account, Region: req.region, Service: req.service, Action: req.action, Params: req.params, Status: status, Code: code})
	s.mu.Unlock()
	s.trailBearerCall(req, code)
	s.trailKeyEvent(req, code)
}

// parse reads the SigV4 scope, the protocol and the action, and resolves
// the caller's account.
func (s *Server) parse(r *http.Request) (*request, *apiError) {
	req := &request{params: map[string]string{}}
	if r.Method == http.MethodGet && strings.TrimSuffix(r.URL.Path, "/") == "/foundation-models" {
		req.service, req.action, req.protocol = "bedrock", "ListFoundationModels", "rest"
		req.region = "us-east-1"
		if region, ok := regionOfHost(r.Host); ok {
			req.region, req.hostRegion = region, region
		}
		for k, v := range r.URL.Query() {
			req.params[k] = v[0]
		}
		auth := r.Header.Get("Authorization")
		if strings.HasPrefix(auth, "Bearer ") {
			return req, nil // resolved by the bearer check
		}
		if aerr := s.sigv4(r, req); aerr != nil {
			return req, aerr
		}
		return req, nil
	}
	if r.Method != http.MethodPost {
		return req, &apiError{405, "MethodNotAllowed", r.Method + " " + r.URL.Path + " is not emulated"}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		return req, &apiError{400, "MalformedRequest", err.Error()}
	}
	if accountRoute(r, req) {
		if aerr := restJSONBody(body, req); aerr != nil {
			return req, aerr
		}
		return req, s.sigv4(r, req)
	}
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		req.protocol = "json"
		svc, action, ok := strings.Cut(target, ".")
		if !ok {
			return req, &apiError{400, "UnknownOperationException", "bad X-Amz-Target"}
		}
		req.action = action
		switch svc {
		case "CloudTrail_20131101", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101":
			req.service = "cloudtrail"
		case "AWSOrganizationsV20161128":
			req.service = "organizations"
		case "AWSInsightsIndexService":
			req.service = "ce"
		default:
			return req, &apiError{400, "UnknownOperationException", "target " + svc + " is not emulated"}
		}
		req.json = map[string]any{}
		if len(strings.TrimSpace(string(body))) > 0 {
			if err := jsonUnmarshal(body, &req.json); err != nil {
				return req, &apiError{400, "SerializationException", err.Error()}
			}
		}
		for k, v := range req.json {
			if sv, ok := v.(string); ok {
				req.params[k] = sv
			}
		}
	} else {
		req.protocol = "query"
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return req, &apiError{400, "MalformedQueryString", err.Error()}
		}
		for k, v := range form {
			req.params[k] = v[0]
		}
		req.action = req.params["Action"]
		if req.action == "" {
			return req, &apiError{400, "MissingAction", "no Action parameter"}
		}
		switch req.params["Version"] {
		case "2010-05-08":
			req.service = "iam"
		case "2011-06-15":
			req.service = "sts"
		default:
			return req, &apiError{400, "InvalidAction", "unknown Version " + req.params["Version"]}
		}
	}
	if aerr := s.sigv4(r, req); aerr != nil {
		return req, aerr
	}
	return req, nil
}

// sigv4 checks that the request carries a SigV4 Authorization header and
// takes the access key id and region from its credential scope.
func (s *Server) sigv4(r *http.Request, req *request) *apiError {
	auth := r.Header.Get("Authorization")
	const algo = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, algo) {
		return &apiError{403, "MissingAuthenticationToken", "Request is missing Authentication Token"}
	}
	var scope string
	for _, part := range strings.Split(auth[len(algo):], ",") {
		part = strings.TrimSpace(part)
		if v, ok := strings.CutPrefix(part, "Credential="); ok {
			scope = v
		}
	}
	fields := strings.Split(scope, "/")
	if len(fields) != 5 || fields[4] != "aws4_request" || fields[0] == "" {
		return &apiError{403, "IncompleteSignature", "Authorization header has no valid credential scope"}
	}
	if r.Header.Get("X-Amz-Date") == "" {
		return &apiError{403, "IncompleteSignature", "X-Amz-Date header is missing"}
	}
	req.accessKey, req.region = fields[0], fields[2]
	s.mu.Lock()
	defer s.mu.Unlock()
	req.account, req.callerARN = s.st.caller.Account, s.st.caller.ARN
	if sess, ok := s.st.sessions[req.accessKey]; ok {
		if s.now().After(sess.expires) {
			return &apiError{403, "ExpiredToken", "The security token included in the request is expired"}
		}
		req.account, req.callerARN, req.session = sess.account, sess.arn, sess
		return nil
	}
	for _, id := range s.st.order {
		a := s.st.accounts[id]
		for _, u := range a.Users {
			for _, k := range u.AccessKeys {
				if k.ID == req.accessKey {
					if k.Status != "Active" {
						return &apiError{403, "InvalidClientTokenId", "The security token included in the request is invalid"}
					}
					req.account, req.callerARN = a.ID, userARN(s.st.partition, a.ID, u)
					return nil
				}
			}
		}
	}
	return nil
}

func userARN(partition, account string, u *User) string {
	return fmt.Sprintf("arn:%s:iam::%s:user%s%s", partition, account, u.Path, u.Name)
}

func requestID() string {
	var b [16]byte
	rand.Read(b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func writeError(w http.ResponseWriter, req *request, e *apiError) {
	w.Header().Set("X-Amzn-RequestId", requestID())
	if req != nil && req.protocol == "query" {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(e.status)
		typ := "Sender"
		if e.status >= 500 {
			typ = "Receiver"
		}
		var b xb
		b.raw(`<ErrorResponse xmlns="` + xmlns(req.service) + `"><Error>`)
		b.leaf("Type", typ)
		b.leaf("Code", e.code)
		b.leaf("Message", e.message)
		b.raw("</Error>")
		b.leaf("RequestId", requestID())
		b.raw("</ErrorResponse>")
		io.WriteString(w, b.String())
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", e.code)
	w.WriteHeader(e.status)
	if req != nil && req.protocol == "rest" {
		fmt.Fprintf(w, `{"message":%q}`, e.message)
		return
	}
	fmt.Fprintf(w, `{"__type":%q,"message":%q}`, e.code, e.message)
}

func xmlns(service string) string {
	if service == "sts" {
		return "https://sts.amazonaws.com/doc/2011-06-15/"
	}
	return "https://iam.amazonaws.com/doc/2010-05-08/"
}
