package testpg

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
)

// Proxy is a TCP relay on 127.0.0.1 in front of a PostgreSQL server, which
// a test cuts to make the database unreachable (a failover: connections
// refused; a network partition: connections that hang) and then restores.
type Proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	hang   bool // while cut: hold new connections open, answering nothing
	conns  map[net.Conn]bool
}

// NewProxy relays to the server of dsn until the test ends and returns
// the proxy and dsn rewritten to go through it.
func NewProxy(t testing.TB, dsn string) (*Proxy, string) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: u.Host, conns: map[net.Conn]bool{}}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.Cut() })
	u.Host = ln.Addr().String()
	return p, u.String()
}

// Cut drops every open connection and refuses new ones until Restore.
func (p *Proxy) Cut() { p.cutOff(false) }

// Hang drops every open connection and, until Restore, accepts new ones
// but never answers on them, as a host behind a partition would (packets
// dropped rather than refused).
func (p *Proxy) Hang() { p.cutOff(true) }

func (p *Proxy) cutOff(hang bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut, p.hang = true, hang
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// Restore lets connections through again (those held by Hang are closed).
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut, p.hang = false, false
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *Proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.relay(c)
	}
}

func (p *Proxy) relay(c net.Conn) {
	if p.held(c) {
		return
	}
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(c, s) {
		c.Close()
		s.Close()
		return
	}
	go func() { io.Copy(s, c); s.Close() }() //nolint:errcheck // ends when either side closes
	io.Copy(c, s)                            //nolint:errcheck // ends when either side closes
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, s)
	p.mu.Unlock()
}

// held keeps c open and silent when the proxy hangs.
func (p *Proxy) held(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hang {
		p.conns[c] = true
	}
	return p.hang
}

// track records the pair unless the proxy is cut.
func (p *Proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		return false
	}
	for _, c := range conns {
		p.conns[c] = true
	}
	return true
}
