package awsemu

// Condition operators, as the IAM JSON policy reference defines them
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html):
// the values of one key are ORed, keys and operators are ANDed; a key
// missing from the request makes a positive operator false and a negated
// one (StringNotLike, ArnNotLike, …) true; …IfExists is true when the key
// is missing; Null tests presence. An operator the emulator does not know
// makes the statement not apply.

import (
	"strconv"
	"strings"
	"time"
)

func conditionsHold(cond map[string]map[string]any, keys map[string][]string) bool {
	for op, kv := range cond {
		for key, v := range kv {
			if !operatorHolds(op, strs(v), keys[strings.ToLower(key)]) {
				return false
			}
		}
	}
	return true
}

func operatorHolds(op string, want, have []string) bool {
	if op == "Null" {
		return len(want) == 1 && (want[0] == "true") == (len(have) == 0)
	}
	base, ifExists := strings.CutSuffix(op, "IfExists")
	negated := strings.Contains(base, "Not")
	if len(have) == 0 {
		return ifExists || negated
	}
	match, ok := matcher(strings.Replace(base, "Not", "", 1))
	if !ok {
		return false
	}
	any := false
	for _, h := range have {
		for _, w := range want {
			any = any || match(w, h)
		}
	}
	return any != negated
}

// matcher returns the comparison of a (non-negated) operator: want is the
// policy's value, have the request's.
func matcher(op string) (func(want, have string) bool, bool) {
	switch op {
	case "StringEquals", "ArnEquals":
		return func(w, h string) bool { return w == h }, true
	case "StringEqualsIgnoreCase":
		return strings.EqualFold, true
	case "StringLike", "ArnLike":
		return glob, true
	case "Bool":
		return func(w, h string) bool { return strings.EqualFold(w, h) }, true
	case "DateEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals":
		return compare(op, parseDate), true
	case "NumericEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals":
		return compare(op, func(s string) (float64, bool) {
			f, err := strconv.ParseFloat(s, 64)
			return f, err == nil
		}), true
	}
	return nil, false
}

func parseDate(s string) (float64, bool) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return float64(t.Unix()), true
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return float64(n), true // epoch seconds
	}
	return 0, false
}

func compare(op string, parse func(string) (float64, bool)) func(want, have string) bool {
	return func(w, h string) bool {
		a, ok1 := parse(h)
		b, ok2 := parse(w)
		if !ok1 || !ok2 {
			return false
		}
		switch {
		case strings.HasSuffix(op, "LessThan"):
			return a < b
		case strings.HasSuffix(op, "LessThanEquals"):
			return a <= b
		case strings.HasSuffix(op, "GreaterThan"):
			return a > b
		case strings.HasSuffix(op, "GreaterThanEquals"):
			return a >= b
		}
		return a == b
	}
}
