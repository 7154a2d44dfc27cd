// Package demo holds what `bks demo` (and `make demo`) runs on: the
// built-in sample files of the kinds keys leak into, holding keys generated
// with fake secrets, and decoys that must not be reported; and the
// whole-pipeline Scenario, a git history with keys in it and the AWS
// accounts those keys belong to, seeded into the loopback AWS emulator
// (internal/awsemu).
//
// Why this package and the emulator are linked into the product binary:
// `bks demo` is a product command that must run anywhere, with no AWS
// account and no network, so the samples, the scenario and the emulator
// ship with bks (about 160 kB, under 1% of the binary). Only `bks demo` and
// the hidden `bks dev aws-emulator` reach them: no other command imports
// this package or awsemu (internal/cli's TestOnlyDemoReachesEmulator checks
// it), and the demo points its AWS clients at the emulator through a
// client factory of its own, never through the process environment.
package demo

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"time"
	"unicode/utf16"

	"github.com/bks-dev/bks/internal/testkeys"
)

// Accounts used by the sample keys.
const (
	AccountPayments = "111122223333"
	AccountML       = "444455556666"
	AccountUnknown  = "777788889999"
)

// Keys are the sample keys, generated from fake secrets.
type Keys struct {
	ConsoleLongTerm string // phantom user BedrockAPIKey-…
	APILongTerm     string // API-created key on an ordinary IAM user
	ShortTermASIA   string // session credentials, valid 12 h from Issued
	ShortTermAKIA   string // expired
	ClaudeLongTerm  string
}

// SampleKeys returns the sample keys; short-term ones are issued at now.
func SampleKeys(now time.Time) Keys {
	return Keys{
		ConsoleLongTerm: testkeys.LongTerm(testkeys.ConsoleUser(1), AccountPayments, testkeys.Secret(1)),
		APILongTerm:     testkeys.LongTerm("ml-pipeline", AccountML, testkeys.Secret(2)),
		ShortTermASIA: testkeys.ShortTerm(testkeys.ShortTermOptions{
			AccessKeyID:  testkeys.AccessKeyID("ASIA", AccountML, 3),
			SecretKey:    "fake-secret-access-key",
			SessionToken: testkeys.SessionToken(AccountML, 800, 3),
			Region:       "us-west-2", Issued: now.Add(-time.Hour), Expires: 43200,
		}),
		ShortTermAKIA: testkeys.ShortTerm(testkeys.ShortTermOptions{
			AccessKeyID: testkeys.AccessKeyID("AKIA", AccountUnknown, 4),
			SecretKey:   "fake-secret-access-key", Region: "eu-west-1",
			Issued: now.Add(-48 * time.Hour), Expires: 3600, Order: "console",
		}),
		ClaudeLongTerm: testkeys.ClaudeLongTerm("k7q2", AccountPayments, testkeys.Secret(5)),
	}
}

// WriteSamples writes the sample tree under dir and returns the keys in it.
func WriteSamples(dir string, now time.Time) (Keys, error) {
	k := SampleKeys(now)
	b64 := base64.StdEncoding.EncodeToString([]byte(k.ShortTermASIA))
	files := map[string]string{
		"service/.env": "# local settings\nAWS_REGION=us-east-1\nAWS_BEARER_TOKEN_BEDROCK=" + k.ConsoleLongTerm + "\n",
		"service/app.py": "import boto3\n\nclient = boto3.client('bedrock-runtime')\n" +
			"HEADERS = {\"Authorization\": f\"Bearer " + k.APILongTerm + "\"}\n",
		"notebooks/explore.ipynb": `{"cells": [{"cell_type": "code", "source": ["import os\n", "os.environ['AWS_BEARER_TOKEN_BEDROCK'] = '` +
			k.ShortTermASIA + `'\n", "print('ok')"]}], "nbformat": 4}` + "\n",
		"deploy/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: bedrock\ndata:\n  token: " + b64 + "\n",
		"deploy/windows.ps1": "", // written as UTF-16 below
		"web/client.min.js":  minified(k.ShortTermAKIA),
		"docs/README.md": "# Using Bedrock\n\nLong-term keys start with ABSK and short-term ones with\n" +
			"bedrock-api-key- (see the bedrock-api-key-generator package). Never commit them.\n" +
			"Example of a malformed key: ABSKbm90LWEta2V5Cg==\n",
		"claude/config.toml": "[anthropic]\napi_key = \"" + k.ClaudeLongTerm + "\"\n",
	}
	for name, text := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return k, err
		}
		data := []byte(text)
		if name == "deploy/windows.ps1" {
			data = utf16le("$env:AWS_BEARER_TOKEN_BEDROCK = \"" + k.APILongTerm + "\"\r\n")
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return k, err
		}
	}
	zipped, err := zipOf("backup/.env", "AWS_BEARER_TOKEN_BEDROCK="+k.ConsoleLongTerm+"\n")
	if err != nil {
		return k, err
	}
	if err := os.WriteFile(filepath.Join(dir, "service", "backup.zip"), zipped, 0o644); err != nil {
		return k, err
	}
	return k, nil
}

func minified(key string) string {
	var b bytes.Buffer
	for i := range 2000 {
		fmt.Fprintf(&b, "function f%d(a){return a+%d};", i, i)
	}
	b.WriteString("var t=\"" + key + "\";")
	for i := range 2000 {
		fmt.Fprintf(&b, "var v%d=%d;", i, i)
	}
	return b.String()
}

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	out := make([]byte, 2, 2+2*len(u))
	out[0], out[1] = 0xff, 0xfe
	for _, c := range u {
		out = binary.LittleEndian.AppendUint16(out, c)
	}
	return out
}

func zipOf(name, content string) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(name)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write([]byte(content)); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
