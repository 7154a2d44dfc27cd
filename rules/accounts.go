package rules

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/bks-dev/bks/triage"
)

var (
	accountIDRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\d{12}$`) })
	roleARNRe   = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^arn:aws(-[a-z-]+)?:iam::(\d{12}):role/[\w+=,.@/-]+$`)
	})
	regionRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`) })
)

// accounts validates the [[accounts]] tables, read straight into
// triage.Account (the type triage acts on), and records their lines.
func (v *validator) accounts(list []*triage.Account) {
	seen := map[string]int{}
	for i, a := range list {
		p := fmt.Sprintf("accounts[%d]", i)
		a.Line = v.loc.line(p)
		switch {
		case a.ID == "":
			v.fail(p, "account has no id (the 12-digit AWS account id)")
		case !accountIDRe().MatchString(a.ID):
			v.fail(p+".id", "account id %q is not 12 digits", a.ID)
		case seen[a.ID] != 0:
			v.fail(p+".id", "account %s is already configured on line %d", a.ID, seen[a.ID])
		default:
			seen[a.ID] = max(a.Line, 1)
		}
		if a.RoleARN != "" {
			m := roleARNRe().FindStringSubmatch(a.RoleARN)
			switch {
			case m == nil:
				v.fail(p+".role_arn", "role_arn %q is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)", a.RoleARN)
			case a.ID != "" && m[2] != a.ID:
				v.fail(p+".role_arn", "role_arn is in account %s, not %s", m[2], a.ID)
			}
		}
		for j, r := range a.Regions {
			if !regionRe().MatchString(r) {
				v.fail(fmt.Sprintf("%s.regions[%d]", p, j), "%q is not an AWS region name", r)
			}
		}
		if a.Notify != "" {
			u, err := url.Parse(a.Notify)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				v.fail(p+".notify", "notify must be an http(s) webhook URL")
			} else if u.Scheme == "http" && !isLoopback(u.Hostname()) {
				v.fail(p+".notify", "notify must use https (plain http only to localhost)")
			}
		}
	}
}

func isLoopback(host string) bool {
	return host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1"
}
