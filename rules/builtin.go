package rules

import (
	_ "embed"
	"errors"
	"fmt"
	"sync"

	"github.com/bks-dev/bks/detectors"
)

//go:embed builtin.toml
var builtinTOML []byte

// BuiltinFile names the embedded built-in rules in messages.
const BuiltinFile = "<built-in>"

var loadBuiltin = sync.OnceValues(func() (*Config, error) {
	var f fileSchema
	loc, err := decodeTOML(BuiltinFile, builtinTOML, &f)
	if err != nil {
		return nil, err
	}
	if len(f.Allowlists) > 0 || len(f.DisabledRules) > 0 {
		return nil, errors.New("built-in rules: only [[rules]] allowed")
	}
	v := &validator{file: BuiltinFile, loc: loc, builtin: true}
	c := &Config{}
	for i, r := range f.Rules {
		r.Builtin = true
		r.File, r.Line = BuiltinFile, loc.line(fmt.Sprintf("rules[%d]", i))
		v.rule(fmt.Sprintf("rules[%d]", i), r)
		c.Rules = append(c.Rules, r)
	}
	if len(v.errs) > 0 {
		return nil, errors.Join(v.errs...)
	}
	return c, nil
})

// builtinRules returns the built-in rules: one engine rule per key family
// (detectors.Families, so a family added there is listed, shown and
// allowlistable by id with nothing to add here), then the embedded TOML
// ones.
func builtinRules() ([]*Rule, error) {
	c, err := loadBuiltin()
	if err != nil {
		return nil, err
	}
	var rs []*Rule
	for _, f := range detectors.Families() {
		rs = append(rs, engineRule(f))
	}
	return append(rs, c.Rules...), nil
}

// engineRule describes a key family as a rule.
func engineRule(f detectors.Family) *Rule {
	fold := false
	return &Rule{
		ID: f.Rule, Description: f.Description, Keywords: []string{f.Prefix}, FoldCase: &fold,
		Decoder: f.Service.Name, Engine: true, Builtin: true, File: BuiltinFile,
	}
}

//go:embed template.toml
var templateTOML []byte

// InitTemplate returns the commented default configuration `bks config
// init` writes. It is a valid configuration (everything is commented out).
func InitTemplate() []byte { return append([]byte(nil), templateTOML...) }
