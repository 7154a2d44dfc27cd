package awsemu

import (
	"testing"
	"time"
)

// The policy reader behind the Bedrock deny check never panics, and a
// document it accepts keeps being accepted.
func FuzzPolicy(f *testing.F) {
	f.Add(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["bedrock:*","bedrock-mantle:*"],"Resource":"*"}]}`)
	f.Add(`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-03-01T00:00:00Z"}}}}`)
	f.Add(`{"Statement":[]}`)
	f.Add(`not json`)
	issued := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, doc string) {
		if validPolicy(doc) == nil {
			if _, err := parsePolicy(doc); err != nil {
				t.Fatalf("accepted then refused: %v", err)
			}
		}
		denies(map[string]string{"p": doc}, "bedrock:ListFoundationModels", issued)
		denies(map[string]string{"p": doc}, "bedrock:ListFoundationModels", time.Time{})
	})
}

func TestDeniesTokenIssueTime(t *testing.T) {
	doc := `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-03-01T00:00:00Z"}}}}`
	for _, tc := range []struct {
		issued time.Time
		want   bool
	}{
		{time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), true},
		{time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), false},
		{time.Time{}, false}, // not a session: the key is absent
	} {
		if got := denies(map[string]string{"p": doc}, "bedrock:InvokeModel", tc.issued); got != tc.want {
			t.Errorf("issued %v: denies = %v, want %v", tc.issued, got, tc.want)
		}
	}
}
