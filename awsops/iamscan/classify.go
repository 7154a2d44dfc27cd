package iamscan

import (
	"fmt"
	"time"
)

// Classify sets u.Status, u.Reasons and u.OverPolicy from u's state.
func Classify(u *User, p Policy, now time.Time) {
	p = p.withDefaults()
	u.Reasons = nil
	u.OverPolicy = false
	var unknown, risk, active, extra, leftover []string

	for _, e := range u.Errors {
		unknown = append(unknown, e.Detail)
	}
	live := 0
	for _, c := range u.BedrockKeys {
		if !c.LiveAt(now) {
			status := c.Status
			if c.Status == "Active" {
				status = "Expired"
			}
			leftover = append(leftover, fmt.Sprintf("Bedrock key %s %s", ShortID(c.ID), lower(status)))
			continue
		}
		live++
		age := now.Sub(c.Created)
		desc := fmt.Sprintf("Bedrock key %s active, created %s", ShortID(c.ID), Ago(age))
		if c.Expires == nil {
			desc += "; never expires"
			u.OverPolicy = true
		} else {
			desc += fmt.Sprintf("; expires %s", c.Expires.UTC().Format("2006-01-02"))
		}
		if age > p.MaxKeyAge {
			desc += fmt.Sprintf("; older than %d days", int(p.MaxKeyAge.Hours()/24))
			u.OverPolicy = true
		}
		active = append(active, desc)
	}
	for _, c := range u.OtherCredentials {
		if c.LiveAt(now) && u.Phantom {
			risk = append(risk, fmt.Sprintf("%s credential %s active", c.Service, ShortID(c.ID)))
		} else if u.Phantom {
			leftover = append(leftover, fmt.Sprintf("%s credential %s %s", c.Service, ShortID(c.ID), lower(c.Status)))
		}
	}
	for _, k := range u.AccessKeys {
		if k.Status != "Active" {
			leftover = append(leftover, fmt.Sprintf("access key %s inactive", ShortID(k.ID)))
			continue
		}
		use := "never used"
		if k.LastUsed != nil {
			use = "last used " + Ago(now.Sub(*k.LastUsed))
			if k.LastUsedService != "" && k.LastUsedService != "N/A" {
				use += " (" + k.LastUsedService + ")"
			}
		}
		risk = append(risk, fmt.Sprintf("access key %s active, %s", ShortID(k.ID), use))
	}
	if u.LoginProfile != nil {
		last := u.LoginProfile.Created
		what := "console password, never used, created " + Ago(now.Sub(last))
		if u.PasswordLastUsed != nil {
			last = *u.PasswordLastUsed
			what = "console password, last used " + Ago(now.Sub(last))
		}
		if now.Sub(last) <= p.DormantAfter {
			risk = append(risk, what)
		} else {
			leftover = append(leftover, what+" (dormant)")
		}
	}
	for _, c := range u.SigningCertificates {
		if c.Status == "Active" {
			risk = append(risk, "signing certificate "+ShortID(c.ID)+" active")
		} else {
			leftover = append(leftover, "signing certificate "+ShortID(c.ID)+" inactive")
		}
	}
	for _, k := range u.SSHPublicKeys {
		if k.Status == "Active" {
			risk = append(risk, "SSH public key "+ShortID(k.ID)+" active")
		} else {
			leftover = append(leftover, "SSH public key "+ShortID(k.ID)+" inactive")
		}
	}
	for _, pol := range u.AttachedPolicies {
		if policyName(pol) != BedrockLimitedAccess {
			extra = append(extra, "extra policy "+policyName(pol))
		}
	}
	for _, pol := range u.InlinePolicies {
		extra = append(extra, "inline policy "+pol)
	}
	for _, g := range u.Groups {
		extra = append(extra, "member of group "+g)
	}
	if len(u.MFADevices) > 0 {
		leftover = append(leftover, fmt.Sprintf("%d MFA device(s)", len(u.MFADevices)))
	}

	switch {
	case len(unknown) > 0:
		u.Status = Unknown
		u.Reasons = append(unknown, append(risk, active...)...)
		u.OverPolicy = false
	case !u.Phantom:
		// An ordinary user given a Bedrock key through the API: its other
		// credentials are its own business; only the Bedrock keys count.
		if live > 0 {
			u.Status = Active
			u.Reasons = active
		} else {
			u.Status = Inactive
			u.Reasons = append(leftover[:len(leftover):len(leftover)], "ordinary IAM user: no active Bedrock key (bks never deletes it)")
			u.OverPolicy = false
		}
	case len(risk) > 0:
		u.Status = AtRisk
		u.Reasons = append(append(risk, active...), extra...)
		u.OverPolicy = true
	case live > 0 && len(extra) > 0:
		u.Status = AtRisk
		u.Reasons = append(active, extra...)
		u.OverPolicy = true
	case live > 0:
		u.Status = Active
		u.Reasons = active
	default:
		u.Status = Orphaned
		u.Reasons = append([]string{"no active credential"}, append(leftover, extra...)...)
		u.OverPolicy = false
	}
}

func lower(s string) string {
	if s == "" {
		return "unknown status"
	}
	b := []byte(s)
	if b[0] >= 'A' && b[0] <= 'Z' {
		b[0] += 'a' - 'A'
	}
	return string(b)
}

func policyName(arn string) string {
	for i := len(arn) - 1; i >= 0; i-- {
		if arn[i] == '/' {
			return arn[i+1:]
		}
	}
	return arn
}
