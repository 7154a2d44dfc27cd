package scp

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

var update = flag.Bool("update", false, "rewrite golden files")

var partitions = []string{"aws", "aws-us-gov", "aws-cn"}

// stmt finds a statement by Sid.
func stmt(t *testing.T, d Document, sid string) Statement {
	t.Helper()
	for _, s := range d.Statement {
		if s.Sid == sid {
			return s
		}
	}
	t.Fatalf("no statement %s", sid)
	return Statement{}
}

func cond(t *testing.T, s Statement, op, key string) string {
	t.Helper()
	raw, ok := s.Condition[op][key]
	if !ok {
		t.Fatalf("statement %s: no condition %s %s (have %v)", s.Sid, op, key, s.Condition)
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("statement %s: condition %s %s is not a string: %s", s.Sid, op, key, raw)
	}
	return v
}

func TestPoliciesStatements(t *testing.T) {
	for _, part := range partitions {
		t.Run(part, func(t *testing.T) {
			opts := Options{Partition: part}
			doc := func(name string) Document {
				p, ok := Lookup(name)
				if !ok {
					t.Fatalf("no policy %s", name)
				}
				d, err := p.Document(opts)
				if err != nil {
					t.Fatal(err)
				}
				return d
			}

			// 1: both bearer-token endpoints, and key creation.
			d := doc("deny-all-api-keys")
			s := stmt(t, d, "DenyBedrockAPIKeyUse")
			if !slices.Equal(s.Action, []string{"bedrock:CallWithBearerToken", "bedrock-mantle:CallWithBearerToken"}) || len(s.Condition) != 0 {
				t.Errorf("deny-all: use statement %+v", s)
			}
			s = stmt(t, d, "DenyBedrockAPIKeyCreation")
			if cond(t, s, "StringEquals", "iam:ServiceSpecificCredentialServiceName") != "bedrock.amazonaws.com" {
				t.Error("deny-all: creation not limited to bedrock")
			}

			// 2: long-term only, on both endpoints.
			d = doc("deny-long-term-api-keys")
			s = stmt(t, d, "DenyBedrockLongTermKeyUse")
			if !slices.Equal(s.Action, []string{"bedrock:CallWithBearerToken"}) || cond(t, s, "StringEquals", "bedrock:BearerTokenType") != "LONG_TERM" {
				t.Errorf("long-term: bedrock statement %+v", s)
			}
			s = stmt(t, d, "DenyBedrockMantleLongTermKeyUse")
			if !slices.Equal(s.Action, []string{"bedrock-mantle:CallWithBearerToken"}) || cond(t, s, "StringEquals", "bedrock-mantle:BearerTokenType") != "LONG_TERM" {
				t.Errorf("long-term: mantle statement %+v", s)
			}
			for _, st := range d.Statement {
				if slices.Contains(st.Action, "bedrock:CallWithBearerToken") && len(st.Condition) == 0 {
					t.Error("long-term policy blocks short-term keys too")
				}
			}

			// 3: max age, and never-expiring keys (the original's gap).
			d = doc("enforce-max-key-age")
			s = stmt(t, d, "DenyBedrockKeysOverMaxAge")
			if cond(t, s, "NumericGreaterThan", "iam:ServiceSpecificCredentialAgeDays") != "90" {
				t.Error("max age is not 90 days")
			}
			s = stmt(t, d, "DenyBedrockKeysThatNeverExpire")
			if cond(t, s, "Null", "iam:ServiceSpecificCredentialAgeDays") != "true" {
				t.Error("never-expiring keys are not denied")
			}
			for _, st := range d.Statement {
				if cond(t, st, "StringEquals", "iam:ServiceSpecificCredentialServiceName") != "bedrock.amazonaws.com" {
					t.Error("age policy not limited to bedrock credentials")
				}
			}

			// 4: phantom users: every way to widen them, partition ARNs.
			d = doc("protect-phantom-users")
			userARN := "arn:" + part + ":iam::*:user/BedrockAPIKey-*"
			want := map[string][]string{
				"iam:CreateAccessKey":          {userARN},
				"iam:CreateLoginProfile":       {userARN},
				"iam:UpdateLoginProfile":       {userARN},
				"iam:EnableMFADevice":          {userARN},
				"iam:CreateVirtualMFADevice":   {"arn:" + part + ":iam::*:mfa/BedrockAPIKey-*"},
				"iam:UploadSigningCertificate": {userARN},
				"iam:UploadSSHPublicKey":       {userARN},
				"iam:PutUserPolicy":            {userARN},
				"iam:AttachUserPolicy":         {userARN},
			}
			for action, res := range want {
				found := false
				for _, st := range d.Statement {
					if slices.Contains(st.Action, action) {
						found = true
						for _, r := range res {
							if !slices.Contains(st.Resource, r) {
								t.Errorf("phantom: %s does not cover %s (resources %v)", action, r, st.Resource)
							}
						}
						for _, r := range st.Resource {
							if r == "*" {
								t.Errorf("phantom: %s denied on every resource", action)
							}
						}
					}
				}
				if !found {
					t.Errorf("phantom: %s not denied", action)
				}
			}
			s = stmt(t, d, "DenyPhantomUserExtraManagedPolicies")
			if cond(t, s, "ArnNotEquals", "iam:PolicyARN") != "arn:"+part+":iam::aws:policy/AmazonBedrockLimitedAccess" {
				t.Error("phantom: console's own policy attachment not exempted")
			}

			// 5: phantom user creation and the console policy.
			d = doc("block-phantom-user-creation")
			s = stmt(t, d, "DenyPhantomUserCreation")
			if !slices.Equal(s.Action, []string{"iam:CreateUser"}) || !slices.Equal(s.Resource, []string{userARN}) {
				t.Errorf("creation statement %+v", s)
			}
			s = stmt(t, d, "DenyAmazonBedrockLimitedAccessAttachment")
			if cond(t, s, "ArnEquals", "iam:PolicyARN") != "arn:"+part+":iam::aws:policy/AmazonBedrockLimitedAccess" {
				t.Error("AmazonBedrockLimitedAccess ARN wrong")
			}
			for _, a := range []string{"iam:AttachUserPolicy", "iam:AttachRolePolicy", "iam:AttachGroupPolicy"} {
				if !slices.Contains(s.Action, a) {
					t.Errorf("%s not denied", a)
				}
			}
		})
	}
}

// Every policy: valid, Deny-only, SCP-legal Sids, no other partition's ARN,
// under the SCP size limit.
func TestPoliciesWellFormed(t *testing.T) {
	if len(List()) != 5 {
		t.Fatalf("want 5 policies, have %d", len(List()))
	}
	for _, p := range List() {
		for _, part := range partitions {
			b, err := p.Render(Options{Partition: part})
			if err != nil {
				t.Fatal(err)
			}
			d, err := Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			sids := map[string]bool{}
			for _, s := range d.Statement {
				if s.Effect != "Deny" {
					t.Errorf("%s: %s is not a Deny", p.Name, s.Sid)
				}
				if s.Sid == "" || strings.Trim(s.Sid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") != "" || sids[s.Sid] {
					t.Errorf("%s: Sid %q missing, not alphanumeric or repeated", p.Name, s.Sid)
				}
				sids[s.Sid] = true
			}
			for _, other := range partitions {
				if other != part && strings.Contains(string(b), "arn:"+other+":") {
					t.Errorf("%s/%s: holds an %s ARN", p.Name, part, other)
				}
			}
			min, err := Minify(b)
			if err != nil {
				t.Fatal(err)
			}
			if len(min) > MaxSCPSize {
				t.Errorf("%s: %d characters, over the SCP limit %d", p.Name, len(min), MaxSCPSize)
			}
		}
	}
}

func TestRenderOptions(t *testing.T) {
	p, _ := Lookup("enforce-max-key-age")
	d, err := p.Document(Options{MaxAgeDays: 30})
	if err != nil {
		t.Fatal(err)
	}
	if got := cond(t, stmt(t, d, "DenyBedrockKeysOverMaxAge"), "NumericGreaterThan", "iam:ServiceSpecificCredentialAgeDays"); got != "30" {
		t.Errorf("max age %s, want 30", got)
	}
	for _, bad := range []Options{{Partition: "aws-moon"}, {MaxAgeDays: -1}} {
		if _, err := p.Render(bad); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	if _, ok := Lookup("nope"); ok {
		t.Error("Lookup(nope) found something")
	}
}

// The Terraform output parses as HCL, declares aws_organizations_policy
// with type SERVICE_CONTROL_POLICY, and its content is the JSON policy.
func TestTerraformIsValidHCL(t *testing.T) {
	for _, p := range List() {
		for _, part := range partitions {
			opts := Options{Partition: part}
			tf, err := p.Terraform(opts)
			if err != nil {
				t.Fatal(err)
			}
			f, diags := hclsyntax.ParseConfig(tf, p.Name+".tf", hcl.InitialPos)
			if diags.HasErrors() {
				t.Fatalf("%s/%s: %s\n%s", p.Name, part, diags.Error(), tf)
			}
			body := f.Body.(*hclsyntax.Body)
			if len(body.Blocks) != 1 {
				t.Fatalf("%s: %d blocks", p.Name, len(body.Blocks))
			}
			blk := body.Blocks[0]
			if blk.Type != "resource" || !slices.Equal(blk.Labels, []string{"aws_organizations_policy", TerraformName(p.Name)}) {
				t.Fatalf("%s: block %s %v", p.Name, blk.Type, blk.Labels)
			}
			attrs := map[string]string{}
			for name, a := range blk.Body.Attributes {
				v, d := a.Expr.Value(nil)
				if d.HasErrors() {
					t.Fatalf("%s: attribute %s: %s", p.Name, name, d.Error())
				}
				attrs[name] = v.AsString()
			}
			if attrs["type"] != "SERVICE_CONTROL_POLICY" || attrs["name"] != "bks-"+p.Name || attrs["description"] == "" {
				t.Errorf("%s: attributes %v", p.Name, attrs)
			}
			want, _ := p.Render(opts)
			if attrs["content"] != string(want) {
				t.Errorf("%s/%s: content differs from JSON:\n%s\nwant\n%s", p.Name, part, attrs["content"], want)
			}
		}
	}
}

func TestHCLStringEscapes(t *testing.T) {
	for _, s := range []string{`plain`, `a "quoted" \ path`, "${var.x} and %{if}", "tab\tnew\nline"} {
		src := "x = " + hclString(s) + "\n"
		f, diags := hclsyntax.ParseConfig([]byte(src), "t.tf", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("%q: %s", s, diags.Error())
		}
		v, d := f.Body.(*hclsyntax.Body).Attributes["x"].Expr.Value(nil)
		if d.HasErrors() || v.AsString() != s {
			t.Errorf("%q round-trips to %q (%v)", s, v.AsString(), d)
		}
	}
}

func TestGolden(t *testing.T) {
	for _, p := range List() {
		for _, kind := range []string{"json", "tf"} {
			var got []byte
			var err error
			if kind == "json" {
				got, err = p.Render(Options{Partition: "aws-us-gov"})
			} else {
				got, err = p.Terraform(Options{})
			}
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", p.Name+"."+kind)
			if *update {
				os.MkdirAll("testdata", 0o755)
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if string(got) != string(want) {
				t.Errorf("%s differs from golden:\n%s", path, got)
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, p := range List() {
		b, _ := p.Render(Options{})
		f.Add(b)
	}
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["a"],"Resource":"*"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := Parse(b)
		if err != nil {
			return
		}
		out, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		d2, err := Parse(out)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		out2, _ := json.Marshal(d2)
		if string(out) != string(out2) {
			t.Fatalf("not stable:\n%s\n%s", out, out2)
		}
	})
}
