package triage

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

func incidentDir(out string, inc *Incident) string {
	return filepath.Join(out, inc.Fingerprint[:min(16, len(inc.Fingerprint))])
}

// WriteIncident writes the incident's directory: incident.json and
// actions.jsonl (report.md, report.json and timeline.json are written by the
// responder's actions). Files are mode 0600: they name accounts and users.
func WriteIncident(out string, inc *Incident) (string, error) {
	dir := incidentDir(out, inc)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(inc, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "incident.json"), append(b, '\n'), 0o600); err != nil {
		return "", err
	}
	f, err := os.OpenFile(filepath.Join(dir, "actions.jsonl"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return "", err
	}
	enc := json.NewEncoder(f)
	for _, a := range inc.Actions {
		if err := enc.Encode(a); err != nil {
			f.Close()
			return "", err
		}
	}
	return dir, f.Close()
}

// WriteSummary prints the incidents table and the KPIs.
func WriteSummary(w io.Writer, incs []*Incident, k *KPIs) {
	if len(incs) == 0 {
		fmt.Fprintln(w, "No incidents.")
	} else {
		fmt.Fprintf(w, "%-9s %-14s %-24s %-12s %-10s %s\n", "SEVERITY", "ACCOUNT", "KEY", "CREDENTIAL", "PLACES", "ACTIONS")
		for _, inc := range incs {
			acct := inc.AccountID
			if acct == "" {
				acct = "unknown"
			}
			if inc.Account != nil && inc.Account.Name != "" {
				acct = inc.Account.Name
			} else if inc.ThirdParty {
				acct += "*"
			}
			var acts []string
			for _, a := range inc.Actions {
				acts = append(acts, a.Action+":"+a.Outcome)
			}
			if len(acts) == 0 {
				acts = []string{"-"}
			}
			fmt.Fprintf(w, "%-9s %-14s %-24s %-12s %-10d %s\n", inc.Severity, acct, trunc(inc.Redacted, 24), inc.Credential, len(inc.Places), strings.Join(acts, " "))
			for _, c := range inc.Changes {
				fmt.Fprintf(w, "%9s   changed: %s\n", "", c)
			}
		}
		third, changed := 0, 0
		for _, inc := range incs {
			if inc.ThirdParty {
				third++
			}
			changed += len(inc.Changes)
		}
		if k != nil && changed == 0 {
			fmt.Fprintln(w, "No change since the last run.")
		}
		if third > 0 {
			fmt.Fprintf(w, "* not a known account: %d third-party incident(s) to report to their owners (see incident.json \"advice\").\n", third)
		}
	}
	if k == nil {
		return
	}
	fmt.Fprintf(w, "\nKPIs (state file): %d open incident(s), %d key(s) revoked, %d third-party", k.OpenTotal, k.Revoked, k.ThirdParty)
	if k.Revoked > 0 {
		fmt.Fprintf(w, "; detection to revocation: mean %s, worst %s", k.MeanTimeToRevoke.Round(time.Second), k.WorstTimeToRevoke.Round(time.Second))
	}
	fmt.Fprintln(w)
	accts := make([]string, 0, len(k.Open))
	for a := range k.Open {
		accts = append(accts, a)
	}
	sort.Strings(accts)
	for _, a := range accts {
		var parts []string
		for _, s := range []string{SeverityCritical, SeverityHigh, SeverityMedium} {
			if n := k.Open[a][s]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, s))
			}
		}
		fmt.Fprintf(w, "  open in %s: %s\n", a, strings.Join(parts, ", "))
	}
}

func trunc(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// WebhookPayload is what a notify webhook receives: the incident (never the
// key) and a Slack-compatible text field.
type WebhookPayload struct {
	Text     string    `json:"text"`
	Incident *Incident `json:"incident"`
}

// PostWebhook sends the incident to url as JSON.
func PostWebhook(ctx context.Context, client *http.Client, url string, inc *Incident) error {
	where := ""
	if len(inc.Places) > 0 {
		p := inc.Places[0]
		where = fmt.Sprintf(" in %s:%d", p.Path, p.Line)
		if p.Repo != "" {
			where = fmt.Sprintf(" in %s %s:%d", p.Repo, p.Path, p.Line)
		}
	}
	text := fmt.Sprintf(":rotating_light: bks: %s leaked %s key %s of account %s%s (%d place(s)); credential %s.",
		inc.Severity, inc.Key.Type, inc.Redacted, inc.AccountID, where, len(inc.Places), inc.Credential)
	b, err := json.Marshal(WebhookPayload{Text: text, Incident: inc})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("notify: webhook answered %s", resp.Status)
	}
	return nil
}
