package revoke

import (
	"net/url"
	"testing"
	"time"
)

func TestInspect(t *testing.T) {
	cut := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	in, err := inspect(url.QueryEscape(UserPolicy(serviceBedrock, cut)))
	if err != nil {
		t.Fatal(err)
	}
	if !in.covers(denyActions(serviceBedrock)) || in.covers(denyActions(serviceClaude)) || !in.cutoff.Equal(cut) {
		t.Errorf("%+v", in)
	}
	in, _ = inspect(SessionPolicy(cut))
	if in.covers([]string{"bedrock:*"}) || !in.cutoff.Equal(cut) {
		t.Errorf("session policy %+v", in)
	}
	// The original toolkit's bedrock-only deny does not cover Mantle.
	in, _ = inspect(`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"bedrock:*","Resource":"*"}}`)
	if in.covers(denyActions(serviceBedrock)) {
		t.Error("bedrock-only deny counted as covering mantle")
	}
	if _, err := inspect("not json"); err == nil {
		t.Error("no error")
	}
}

func TestIssuerOf(t *testing.T) {
	tests := []struct {
		doc  string
		want Issuer
		ok   bool
	}{
		{`{"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/r1/s","sessionContext":{"sessionIssuer":{"type":"Role","userName":"r1-real","arn":"arn:aws:iam::1:role/path/r1-real"}}}}`, Issuer{Type: "Role", Name: "r1-real", ARN: "arn:aws:iam::1:role/path/r1-real"}, true},
		{`{"userIdentity":{"type":"AssumedRole","arn":"arn:aws-cn:sts::1:assumed-role/r2/s"}}`, Issuer{Type: "Role", Name: "r2", ARN: "arn:aws-cn:sts::1:assumed-role/r2/s"}, true},
		{`{"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/team/alice"}}`, Issuer{Type: "IAMUser", Name: "alice", ARN: "arn:aws:iam::1:user/team/alice"}, true},
		{`{"userIdentity":{"type":"Root","arn":"arn:aws:iam::1:root"}}`, Issuer{Type: "Root", ARN: "arn:aws:iam::1:root"}, true},
		{`{"userIdentity":{"type":"AWSService"}}`, Issuer{}, false},
		{`{`, Issuer{}, false},
	}
	for _, tc := range tests {
		got, ok := IssuerOf(tc.doc)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%s: %+v %v", tc.doc, got, ok)
		}
	}
}

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		arg, kind, user string
		bad             bool
	}{
		{"alice", KindLongTerm, "alice", false},
		{"BedrockAPIKey-ab12", KindLongTerm, "BedrockAPIKey-ab12", false},
		{"ABSKtest", KindLongTerm, "ABSKtest", false},
		{"bedrock-api-key-!!", "", "", true},
		{"not a user", "", "", true},
	} {
		tg, err := ParseTarget(tc.arg, "aws")
		if (err != nil) != tc.bad || (!tc.bad && (tg.Kind != tc.kind || tg.UserName != tc.user)) {
			t.Errorf("%q: %+v %v", tc.arg, tg, err)
		}
	}
}

func FuzzIssuerOf(f *testing.F) {
	f.Add(`{"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/r2/s"}}`)
	f.Add(`{"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/x"}}`)
	f.Fuzz(func(t *testing.T, doc string) {
		is, ok := IssuerOf(doc)
		if ok && is.Type != "Root" && is.Name == "" {
			t.Fatalf("issuer without a name: %+v", is)
		}
	})
}

func FuzzInspect(f *testing.F) {
	f.Add(UserPolicy(serviceBedrock, time.Unix(0, 0)))
	f.Add(url.QueryEscape(SessionPolicy(time.Unix(1e9, 0))))
	f.Fuzz(func(t *testing.T, doc string) {
		in, err := inspect(doc)
		if err != nil && (len(in.deniesActions) > 0 || !in.cutoff.IsZero()) {
			t.Fatal("error with a result")
		}
	})
}
