package testchromium

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// pages are served on 127.0.0.1 for the tests of the checks: a clean page
// and pages that each cause one kind of console error.
var pages = map[string]struct {
	csp, html string
}{
	"/clean":     {"default-src 'none'", `<!DOCTYPE html><title>t</title><p>hello <b>world</b></p>`},
	"/console":   {"", `<!DOCTYPE html><title>t</title><p>x</p><script>console.error("boom from the page")</script>`},
	"/exception": {"", `<!DOCTYPE html><title>t</title><p>x</p><script>null.f()</script>`},
	"/missing":   {"", `<!DOCTYPE html><title>t</title><p>x</p><img src="/no-such-image.png" alt="">`},
	"/csp":       {"default-src 'none'", `<!DOCTYPE html><title>t</title><style>p{color:red}</style><p>x</p>`},
	"/log":       {"", `<!DOCTYPE html><title>t</title><p>x</p><script>console.log("just a log")</script>`},
	"/late":      {"", `<!DOCTYPE html><title>t</title><p>x</p><script>setTimeout(() => console.error("late error"), 200)</script>`},
}

func pageServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := pages[r.URL.Path]
		if r.URL.Path == "/favicon.ico" {
			w.WriteHeader(http.StatusNoContent) // not an error: the pages are checked, not the favicon
			return
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		if p.csp != "" {
			w.Header().Set("Content-Security-Policy", p.csp)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(p.html))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestLoadReportsConsoleErrors: a clean page (and one that only logs) has
// no error; a console.error, an uncaught exception, a resource that fails
// to load, a Content-Security-Policy violation and an error logged just
// after the load event are each reported, so a check of "no console
// errors" can fail.
func TestLoadReportsConsoleErrors(t *testing.T) {
	srv := pageServer(t)
	b := Start(t)
	cases := []struct {
		path, want string // want "": no error
	}{
		{"/clean", ""},
		{"/log", ""},
		{"/console", "boom from the page"},
		{"/exception", "TypeError"},
		{"/missing", "404"},
		{"/csp", "Content Security Policy"},
		{"/late", "late error"},
	}
	for _, c := range cases {
		t.Run(strings.TrimPrefix(c.path, "/"), func(t *testing.T) {
			p := b.Load(t, srv.URL+c.path)
			t.Logf("%s: text %q, errors %q", c.path, p.Text, p.Errors)
			if !strings.Contains(p.DOM, "<p>") {
				t.Errorf("DOM %q", p.DOM)
			}
			switch {
			case c.want == "" && len(p.Errors) != 0:
				t.Errorf("errors on a clean page: %q", p.Errors)
			case c.want != "" && !strings.Contains(strings.Join(p.Errors, "\n"), c.want):
				t.Errorf("errors %q, want one with %q", p.Errors, c.want)
			}
		})
	}
}

// TestDumpDOM: Chromium's --dump-dom of a page is its DOM after load.
func TestDumpDOM(t *testing.T) {
	srv := pageServer(t)
	dom := DumpDOM(t, srv.URL+"/clean")
	if !strings.Contains(dom, "<p>hello <b>world</b></p>") {
		t.Errorf("DOM %q", dom)
	}
}
