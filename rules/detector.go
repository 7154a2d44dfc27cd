package rules

import "github.com/bks-dev/bks/detectors"

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
