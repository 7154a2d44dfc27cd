package serve

import (
	"strings"
	"testing"
	"time"

	"github.com/bks-dev/bks/internal/testchromium"
)

// TestDashboardInChromium loads the dashboard of a populated store in a
// headless Chromium on 127.0.0.1 (the default: loopback clients only, no
// token): the page loads, its rendered DOM (Chromium's --dump-dom) shows
// the open incidents, the hostile repository name is text and not an
// element, and the page has no console error (no script error, no resource
// that failed, no Content-Security-Policy violation: its own stylesheet is
// allowed by its hash).
func TestDashboardInChromium(t *testing.T) {
	ts := startServer(t, "", Config{Process: blocked})
	fillStore(t, ts.st, time.Now())
	url := ts.url + "/dashboard"

	dom := testchromium.DumpDOM(t, url)
	for _, want := range []string{"ABSK…QUFB", "ABSK…QkJC", "111122223333", "BedrockAPIKey-open1", "&lt;script&gt;alert(1)&lt;/script&gt;"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered DOM lacks %q", want)
		}
	}
	if strings.Contains(dom, "<script") || strings.Contains(dom, "<img") {
		t.Errorf("the rendered DOM has a script or an image element")
	}

	p := testchromium.Load(t, url)
	t.Logf("console errors: %q", p.Errors)
	if len(p.Errors) != 0 {
		t.Errorf("the dashboard has console errors: %q", p.Errors)
	}
	for _, want := range []string{"Open incidents by account and severity", "ABSK…QUFB", "evil/<script>alert(1)</script>"} {
		if !strings.Contains(p.Text, want) {
			t.Errorf("the rendered text lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("DOM:\n%s", dom)
	}
}
