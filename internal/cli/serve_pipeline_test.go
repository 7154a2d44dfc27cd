package cli

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bks-dev/bks/triage"
)

// TestServeNotifyErrorHidesURL: a notify webhook that cannot be reached
// gives an error without its URL (a secret: Slack and Teams URLs carry
// their token), since bks serve logs and stores the error.
func TestServeNotifyErrorHidesURL(t *testing.T) {
	const hook = "http://127.0.0.1:1/services/T000/B000/sekrit-token"
	client := &http.Client{Timeout: 2 * time.Second}
	raw := triage.PostWebhook(context.Background(), client, hook, &triage.Incident{})
	got := hideURL(raw)
	t.Logf("raw: %v\nhidden: %v", raw, got)
	if raw == nil || got == nil || strings.Contains(got.Error(), "sekrit-token") {
		t.Errorf("error %v; want one without the URL", got)
	}
}
