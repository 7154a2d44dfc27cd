package benchcorpus

import (
	"encoding/base64"
	"strings"
)

// How a place writes the key.
const (
	encPlain   = ""        // as issued
	encNoPad   = "nopad"   // '=' padding dropped
	encPercent = "percent" // padding written as %3D
	encBase64  = "base64"  // the whole key re-encoded in base64
)

// A place is one of the hiding places of KEYS.md: a template of one or more
// whole lines in which {K} stands for the key.
type place struct {
	name string
	kind string // file kind it goes in
	tmpl string
	enc  string
	// inline places are written inside a single-line (minified) file.
	inline bool
	// longLine places wrap the template in many kilobytes of minified code
	// on the same line.
	longLine bool
}

const k8sSecret = `apiVersion: v1
kind: Secret
metadata:
  name: bedrock-credentials
  namespace: inference
type: Opaque
data:
  AWS_BEARER_TOKEN_BEDROCK: {K}`

var places = []place{
	{name: "env", kind: "env", tmpl: "AWS_BEARER_TOKEN_BEDROCK={K}"},
	{name: "env-quoted", kind: "env", tmpl: `BEDROCK_API_KEY="{K}"`},
	{name: "env-no-padding", kind: "env", tmpl: "AWS_BEARER_TOKEN_BEDROCK={K}", enc: encNoPad},
	{name: "env-export", kind: "env", tmpl: "export AWS_BEARER_TOKEN_BEDROCK={K}"},
	{name: "shell-export", kind: "sh", tmpl: "export AWS_BEARER_TOKEN_BEDROCK='{K}'"},
	{name: "shell-bearer", kind: "sh", tmpl: `curl -sS -H "Authorization: Bearer {K}" "$ENDPOINT/model/$MODEL_ID/converse"`},
	{name: "json-value", kind: "json", tmpl: `  "bedrockApiKey": "{K}",`},
	{name: "json-array", kind: "json", tmpl: `    "keys": ["{K}"],`},
	{name: "yaml-plain", kind: "yaml", tmpl: "    api_key: {K}"},
	{name: "yaml-quoted", kind: "yaml", tmpl: `  bedrock_token: "{K}"`},
	{name: "yaml-url-percent", kind: "yaml", tmpl: "  callback: https://hooks.example.com/notify?token={K}&source=ci", enc: encPercent},
	{name: "k8s-secret-base64", kind: "yaml", tmpl: k8sSecret, enc: encBase64},
	{name: "toml-value", kind: "toml", tmpl: `api_key = "{K}"`},
	{name: "toml-inline-table", kind: "toml", tmpl: `bedrock = { region = "us-east-1", key = '{K}' }`},
	{name: "ipynb-string", kind: "ipynb", tmpl: `    "os.environ[\"AWS_BEARER_TOKEN_BEDROCK\"] = \"{K}\"\n",`},
	{name: "ipynb-escaped-newline", kind: "ipynb", tmpl: `    "AWS_BEARER_TOKEN_BEDROCK={K}\n",`},
	{name: "go-string", kind: "go", tmpl: `	const bedrockKey = "{K}"`},
	{name: "go-raw-string", kind: "go", tmpl: "\ttoken := `{K}`"},
	{name: "go-paren", kind: "go", tmpl: "\tclient := bedrock.NewClient(cfg, {K})"},
	{name: "go-bearer", kind: "go", tmpl: `	req.Header.Set("Authorization", "Bearer {K}")`},
	{name: "py-paren", kind: "py", tmpl: `client = BedrockClient(region="us-east-1", api_key={K})`},
	{name: "py-comma", kind: "py", tmpl: "KEYS = ({K}, None)"},
	{name: "py-bearer", kind: "py", tmpl: `headers = {"Authorization": "Bearer {K}", "Content-Type": "application/json"}`},
	{name: "py-string", kind: "py", tmpl: `os.environ["AWS_BEARER_TOKEN_BEDROCK"] = '{K}'`},
	{name: "js-semicolon", kind: "js", tmpl: "const apiKey = {K};"},
	{name: "js-backtick", kind: "js", tmpl: "const token = `{K}`;"},
	{name: "js-url-percent", kind: "js", tmpl: `fetch("https://api.example.com/v1/relay?key={K}&fmt=json")`, enc: encPercent},
	{name: "js-long-line", kind: "js", tmpl: `,apiKey:"{K}",`, longLine: true},
	{name: "md-backtick", kind: "md", tmpl: "Set `AWS_BEARER_TOKEN_BEDROCK` to `{K}` before running the examples."},
	{name: "md-export", kind: "md", tmpl: "    export AWS_BEARER_TOKEN_BEDROCK={K}"},
	{name: "md-bearer", kind: "md", tmpl: "    curl -H 'Authorization: Bearer {K}' https://bedrock-runtime.us-west-2.amazonaws.com/model/x/invoke"},
	{name: "md-url-percent", kind: "md", tmpl: "[shared link](https://example.com/share?k={K})", enc: encPercent},
	{name: "minified", kind: "minjs", tmpl: `;var k="{K}";`, inline: true},
}

// needsPadding says whether a place can only show a key that has padding.
func (p *place) needsPadding() bool { return p.enc == encNoPad || p.enc == encPercent }

// render substitutes the key written the place's way. It returns the text,
// the 0-based line of the key inside it and its 0-based byte column there.
func (p *place) render(key string, decoy bool) (text string, line, col int) {
	w := key
	if !decoy {
		switch p.enc {
		case encNoPad:
			w = strings.TrimRight(key, "=")
		case encPercent:
			t := strings.TrimRight(key, "=")
			w = t + strings.Repeat("%3D", len(key)-len(t))
		case encBase64:
			w = base64.StdEncoding.EncodeToString([]byte(key))
		}
	} else if p.enc == encBase64 {
		w = base64.StdEncoding.EncodeToString([]byte(key))
	}
	i := strings.Index(p.tmpl, "{K}")
	before := p.tmpl[:i]
	line = strings.Count(before, "\n")
	col = len(before) - (strings.LastIndexByte(before, '\n') + 1)
	return before + w + p.tmpl[i+3:], line, col
}

// findingEncoding is the encoding bks reports for a key written at p.
func (p *place) findingEncoding() string {
	switch p.enc {
	case encPercent, encBase64:
		return p.enc
	}
	return ""
}

// Lines of prose or comments, per kind, in which a decoy phrase is written.
var proseTemplates = map[string]string{
	"md":    "{K}",
	"go":    "// {K}",
	"py":    "# {K}",
	"js":    "// {K}",
	"sh":    "# {K}",
	"yaml":  "# {K}",
	"toml":  "# {K}",
	"env":   "# {K}",
	"ipynb": `    "# {K}\n",`,
	"json":  `  "description": "{K}",`,
}
