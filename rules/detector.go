package rules

import (
	"strings"

	"github.com/bks-dev/bks/detectors"
)

// newDetector builds the detector of a validated, non-engine rule: the
// built-in AWS access key rule is hand-written, every other rule is its
// regex (both live in detectors).
func newDetector(r *Rule, opts detectors.DecodeOptions) detectors.Detector {
	if r.Builtin && r.Decoder == DecoderAccessKey {
		return detectors.NewAccessKey(r.ID, r.Keywords)
	}
	return detectors.NewRegex(detectors.RegexRule{
		ID: r.ID, Keywords: r.Keywords, FoldCase: r.FoldsCase(), Regexp: r.re,
		MinEntropy: r.MinEntropy, MaxLen: r.MaxLen, Decoder: r.Decoder,
	}, opts)
}

// scanDetector is newDetector for scans (Config.Detectors): the built-in
// access key rule drops the ids its own allowlists suppress whatever the
// secret, AWS's documentation examples (…EXAMPLE). On AWS documentation
// they are most of the ids, and each would cost a secret search, a finding
// and the filter only to be suppressed; they are neither reported nor
// counted as suppressed. Rule examples (Rule.Find) still match them.
func scanDetector(r *Rule, opts detectors.DecodeOptions) detectors.Detector {
	if r.Builtin && r.Decoder == DecoderAccessKey {
		return detectors.NewAccessKeyDropping(r.ID, r.Keywords, idStopwords(r))
	}
	return newDetector(r, opts)
}

// idStopwords returns, upper-cased, the stopwords of r's built-in
// allowlists that suppress a finding on their own and can occur in an
// access key id ([A-Z0-9]).
func idStopwords(r *Rule) []string {
	var ws []string
	for _, a := range r.Allowlists {
		others := len(a.Paths) + len(a.Fingerprints) + len(a.Commits) + len(a.Regexes) + len(a.LineRegexes)
		if !a.Builtin || a.Condition == "all" && others > 0 {
			continue
		}
		for _, w := range a.Stopwords {
			up := strings.ToUpper(w)
			if up != "" && strings.Trim(up, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == "" {
				ws = append(ws, up)
			}
		}
	}
	return ws
}
