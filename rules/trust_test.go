package rules

import (
	"strings"
	"testing"
)

func TestWidening(t *testing.T) {
	const base = `
[[rules]]
id = "acme"
keywords = ["acme_"]
regex = 'acme_[a-z]{8}'

[[allowlists]]
id = "fx"
paths = ["/fixtures/"]
stopwords = ["example"]

[[allowlists]]
id = "both"
condition = "all"
paths = ["test/"]
regexes = ["^TEST"]
`
	for _, tc := range []struct {
		name, head string
		want       string // "" : not widening
	}{
		{"same", base, ""},
		{"no file", "", `rule "acme" is removed`},
		{"path under a base path", base + "\n[[allowlists]]\npaths = [\"/fixtures/old/\"]\n", ""},
		{"stopword containing a base one", base + "\n[[allowlists]]\nstopwords = [\"example-key\"]\n", ""},
		{"all of an any", base + "\n[[allowlists]]\ncondition = \"all\"\npaths = [\"/fixtures/\"]\nregexes = [\".*\"]\n", ""},
		{"new path", base + "\n[[allowlists]]\npaths = [\"**\"]\n", `adds paths[0] "**"`},
		{"wildcard under a base path", base + "\n[[allowlists]]\npaths = [\"fixtures/**\"]\n", `adds paths[0] "fixtures/**"`},
		{"any of an all", strings.Replace(base, `condition = "all"`, `condition = "any"`, 1), `allowlist "both"`},
		{"one kind of an all", base + "\n[[allowlists]]\npaths = [\"test/\"]\n", `allowlist "allowlist-3" (line 18) applies to more rules or with a looser condition`},
		{"a rule's own", strings.Replace(base, "regex = 'acme_[a-z]{8}'", "regex = 'acme_[a-z]{8}'\n  [[rules.allowlists]]\n  regexes = ['.']", 1), `adds regexes[0] "."`},
		{"rule changed", strings.Replace(base, "{8}", "{9}", 1), `rule "acme"`},
		{"disabled", "disabled_rules = [\"aws-access-key\"]\n" + base, `disabled_rules adds "aws-access-key"`},
		{"new rule and its allowlist", base + "\n[[rules]]\nid = \"new\"\nkeywords = [\"new_\"]\nregex = 'new_[a-z]{8}'\n  [[rules.allowlists]]\n  regexes = ['.']\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Parse(".bks.toml", []byte(base))
			if err != nil {
				t.Fatal(err)
			}
			h, err := Parse(".bks.toml", []byte(tc.head))
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(Widening(b, h), "\n")
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("Widening = %q, want %q", got, tc.want)
			}
		})
	}
}
