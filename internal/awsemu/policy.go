package awsemu

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"
)

type policyDoc struct {
	Version   string          `json:"Version"`
	Statement json.RawMessage `json:"Statement"`
}

type statement struct {
	Effect      string                    `json:"Effect"`
	Action      any                       `json:"Action"`
	NotAction   any                       `json:"NotAction"`
	Resource    any                       `json:"Resource"`
	NotResource any                       `json:"NotResource"`
	Principal   any                       `json:"Principal"`
	Condition   map[string]map[string]any `json:"Condition"`
}

func parsePolicy(doc string) ([]statement, error) {
	var p policyDoc
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return nil, fmt.Errorf("policy is not JSON: %w", err)
	}
	if len(p.Statement) == 0 {
		return nil, fmt.Errorf("policy has no Statement")
	}
	var list []statement
	if p.Statement[0] == '{' {
		var st statement
		if err := json.Unmarshal(p.Statement, &st); err != nil {
			return nil, fmt.Errorf("policy statement: %w", err)
		}
		list = []statement{st}
	} else if err := json.Unmarshal(p.Statement, &list); err != nil {
		return nil, fmt.Errorf("policy statements: %w", err)
	}
	for _, st := range list {
		if st.Effect != "Allow" && st.Effect != "Deny" {
			return nil, fmt.Errorf("statement Effect must be Allow or Deny")
		}
		if len(strs(st.Action)) == 0 && len(strs(st.NotAction)) == 0 {
			return nil, fmt.Errorf("statement has no Action")
		}
	}
	return list, nil
}

func validPolicy(doc string) error {
	_, err := parsePolicy(doc)
	return err
}

func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// denies reports whether any inline policy explicitly denies action for a
// session issued at issued (zero: credentials that are not a session, for
// which aws:TokenIssueTime is absent). Only the conditions bks writes are
// understood (DateLessThan on aws:TokenIssueTime); a statement with any
// other condition is treated as not applying.
func denies(inline map[string]string, action string, issued time.Time) bool {
	for _, doc := range inline {
		sts, err := parsePolicy(doc)
		if err != nil {
			continue
		}
		for _, st := range sts {
			if st.Effect != "Deny" || !actionMatches(strs(st.Action), action) {
				continue
			}
			if conditionHolds(st.Condition, issued) {
				return true
			}
		}
	}
	return false
}

func actionMatches(patterns []string, action string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(action)); ok {
			return true
		}
	}
	return false
}

func conditionHolds(cond map[string]map[string]any, issued time.Time) bool {
	for op, kv := range cond {
		for key, v := range kv {
			if !strings.EqualFold(key, "aws:TokenIssueTime") {
				return false
			}
			vals := strs(v)
			if len(vals) == 0 {
				return false
			}
			t, err := time.Parse(time.RFC3339, vals[0])
			if err != nil {
				return false
			}
			switch op {
			case "DateLessThan":
				if issued.IsZero() || !issued.Before(t) {
					return false
				}
			case "DateLessThanIfExists":
				if !issued.IsZero() && !issued.Before(t) {
					return false
				}
			default:
				return false
			}
		}
	}
	return true
}
