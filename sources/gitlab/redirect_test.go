package gitlab

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"
)

// GitLab's token travels in PRIVATE-TOKEN, a header Go's client does not
// strip when it follows a redirect to another host (it strips only
// Authorization and cookies). A redirect off the instance is refused, so
// the token never reaches the other host.
func TestRedirectToAnotherHostRefused(t *testing.T) {
	var got []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("PRIVATE-TOKEN"))
		w.Write([]byte(`{"id":1}`))
	}))
	defer other.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
	}))
	defer api.Close()
	c, err := NewClient(ClientOptions{APIURL: api.URL + "/api/v4", Token: "glpat-secret", ServerRetryWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Projects.GetProject("acme/app", nil, gl.WithContext(context.Background()))
	for _, tok := range got {
		if tok != "" {
			t.Fatalf("the other host got the token (%q)", tok)
		}
	}
	if err == nil {
		t.Errorf("a redirect off the instance was followed: %v requests there", len(got))
	}
}
