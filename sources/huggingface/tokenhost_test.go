package huggingface

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The Hub's answer names the next page in its Link header; an answer that
// points to another host (a hostile or broken proxy, a redirect of the
// listing) must not get the token: the Bearer token goes to the endpoint's
// host only.
func TestTokenOnlyToTheHubsHost(t *testing.T) {
	var got string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("Authorization")
		w.Write([]byte("[]"))
	}))
	defer other.Close()
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer hf_secret" {
			t.Errorf("the Hub itself got %q", r.Header.Get("Authorization"))
		}
		w.Header().Set("Link", "<"+other.URL+"/api/models?cursor=x>; rel=\"next\"")
		w.Write([]byte("[]"))
	}))
	defer hub.Close()
	c, err := NewClient(hub.URL, "hf_secret", nil)
	if err != nil {
		t.Fatal(err)
	}
	var list []repoInfo
	next, err := c.get(context.Background(), hub.URL+"/api/models?author=acme", &list)
	if err != nil || next == "" {
		t.Fatalf("first page: next %q, %v", next, err)
	}
	if _, err := c.get(context.Background(), next, &list); err != nil {
		t.Fatalf("next page: %v", err)
	}
	if got != "" {
		t.Errorf("another host got the token: Authorization %q", got)
	}
}
