package benchcorpus

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/bks-dev/bks/internal/testkeys"
)

// The AWS corpus (GenerateAWS) is text about AWS, heavy with access key
// ids: SDK documentation, SDK examples in Go and Python, Terraform and
// CloudFormation. It measures the aws-access-key rule, which the main
// corpus, without AWS ids, leaves idle.
//
// Ids come in two kinds:
//   - AWS's documented example ids (…EXAMPLE, with their …EXAMPLEKEY
//     secrets), which bks suppresses: decoys of the ground truth;
//   - real-looking ids, made here at generation time (new-style with an
//     account, old-style, temporary ASIA), each with its own secret on the
//     same or the next line: planted keys, reported as "<id>:<secret>".
//
// No id or secret is written literally in this file (bks scans its own
// repository): the documented ones are joined from pieces.

// RuleAccessKey is the rule id of bks's built-in AWS access key rule.
const RuleAccessKey = "aws-access-key"

// AWSOptions configure GenerateAWS.
type AWSOptions struct {
	Size int64
	Seed uint64
	// Every is the number of lines per access key id, on average (40: one
	// line in 40 holds an id).
	Every int
	// RealEvery is how many ids of every RealEvery are real-looking ones
	// (planted keys); the others are documentation examples. 10 if 0.
	RealEvery int
}

// awsDocExamples are the id and secret pairs of AWS's documentation.
var awsDocExamples = [][2]string{
	{"AKIA" + "IOSFODNN7" + "EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY"},
	{"AKIA" + "I44QH8DHB" + "EXAMPLE", "je7MtGbClwBF/2Zp9Utk/h3yCo8nvb" + "EXAMPLEKEY"},
	{"ASIA" + "IOSFODNN7" + "EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY"},
}

// awsKind is one kind of file of the AWS corpus: its extension, lines of
// filler and the templates an id is written in. In a template, {ID} and
// {SECRET} are replaced; {SECRET} is on the id's line or the next one.
type awsKind struct {
	dir, ext  string
	filler    func(r *rand.Rand) string
	templates []string
}

var awsKinds = []awsKind{
	{"docs/sdk", ".md", awsProse, []string{
		"```ini\n[default]\naws_access_key_id = {ID}\naws_secret_access_key = {SECRET}\nregion = us-west-2\n```",
		"Set the variables:\n\n    export AWS_ACCESS_KEY_ID={ID}\n    export AWS_SECRET_ACCESS_KEY={SECRET}",
		"| `{ID}` | `{SECRET}` | Active |",
	}},
	{"examples/go", ".go", awsGoLine, []string{
		"\tcfg.Credentials = credentials.NewStaticCredentialsProvider(\"{ID}\", \"{SECRET}\", \"\")",
		"\t\tAccessKeyID:     \"{ID}\",\n\t\tSecretAccessKey: \"{SECRET}\",",
	}},
	{"examples/python", ".py", awsPyLine, []string{
		"    session = boto3.Session(aws_access_key_id=\"{ID}\", aws_secret_access_key=\"{SECRET}\")",
		"os.environ[\"AWS_ACCESS_KEY_ID\"] = \"{ID}\"\nos.environ[\"AWS_SECRET_ACCESS_KEY\"] = \"{SECRET}\"",
	}},
	{"infra/terraform", ".tf", awsTerraformLine, []string{
		"provider \"aws\" {\n  region     = \"us-west-2\"\n  access_key = \"{ID}\"\n  secret_key = \"{SECRET}\"\n}",
		"  access_key = \"{ID}\" # secret_key = \"{SECRET}\"",
	}},
	{"infra/cloudformation", ".yaml", awsCFNLine, []string{
		"      AccessKeyId: {ID}\n      SecretAccessKey: {SECRET}",
		"    Default: {ID} # {SECRET}",
	}},
	{"infra/cloudformation", ".json", awsJSONLine, []string{
		"    \"AccessKeyId\": \"{ID}\",\n    \"SecretAccessKey\": \"{SECRET}\",",
	}},
}

var awsServices = strings.Fields(`s3 ec2 iam sts lambda dynamodb sqs sns kms bedrock cloudwatch
ecs eks rds route53 secretsmanager ssm cloudformation`)

func awsProse(r *rand.Rand) string {
	switch r.IntN(6) {
	case 0:
		return "## " + pascal(r, 2) + " with Amazon " + strings.ToUpper(awsServices[r.IntN(len(awsServices))])
	case 1:
		return ""
	case 2:
		return "    aws " + awsServices[r.IntN(len(awsServices))] + " " + snake(r, 2) + " --region us-east-1 --" + word(r) + " " + word(r)
	}
	return sentence(r)
}

func awsGoLine(r *rand.Rand) string {
	svc := awsServices[r.IntN(len(awsServices))]
	switch r.IntN(4) {
	case 0:
		return fmt.Sprintf("\tout, err := %sClient.%s(ctx, &%s.%sInput{%s: aws.String(%q)})", svc, pascal(r, 2), svc, pascal(r, 2), pascal(r, 1), word(r))
	case 1:
		return "\tif err != nil {\n\t\treturn nil, fmt.Errorf(\"" + sentence(r) + ": %w\", err)\n\t}"
	case 2:
		return "// " + sentence(r)
	}
	return fmt.Sprintf("\t%s := %s.NewFromConfig(cfg)", camel(r, 2), svc)
}

func awsPyLine(r *rand.Rand) string {
	switch r.IntN(3) {
	case 0:
		return fmt.Sprintf("    %s = boto3.client(%q, region_name=\"us-east-1\")", snake(r, 2), awsServices[r.IntN(len(awsServices))])
	case 1:
		return "    # " + sentence(r)
	}
	return fmt.Sprintf("    resp = client.%s(%s=%q)", snake(r, 2), pascal(r, 1), word(r))
}

func awsTerraformLine(r *rand.Rand) string {
	switch r.IntN(4) {
	case 0:
		return fmt.Sprintf("resource \"aws_%s_%s\" %q {", awsServices[r.IntN(len(awsServices))], word(r), snake(r, 2))
	case 1:
		return "}"
	case 2:
		return "# " + sentence(r)
	}
	return fmt.Sprintf("  %s = %q", snake(r, 1+r.IntN(2)), word(r))
}

func awsCFNLine(r *rand.Rand) string {
	switch r.IntN(4) {
	case 0:
		return fmt.Sprintf("  %s:\n    Type: AWS::%s::%s", pascal(r, 2), strings.ToUpper(awsServices[r.IntN(len(awsServices))]), pascal(r, 1))
	case 1:
		return "    Properties:"
	case 2:
		return "# " + sentence(r)
	}
	return fmt.Sprintf("      %s: !Ref %s", pascal(r, 1), pascal(r, 2))
}

func awsJSONLine(r *rand.Rand) string {
	if r.IntN(3) == 0 {
		return "  },\n  {"
	}
	return fmt.Sprintf("    %q: %q,", pascal(r, 1), word(r))
}

// realAccessKey returns a real-looking id, never one of the documented
// examples, and a secret for it.
func realAccessKey(r *rand.Rand) (id, secret, variant string) {
	secret = testkeys.AccessKeySecret(r.Uint64())
	switch r.IntN(3) {
	case 0:
		return testkeys.AccessKeyID("AKIA", account(r), r.Uint64()), secret, "aws-new-style"
	case 1:
		return testkeys.AccessKeyID("ASIA", account(r), r.Uint64()), secret, "aws-temporary"
	}
	// Old style: the fifth character is outside [Q-Z2-7], no account.
	const old = "ABCDEFGHIJKLMNOP"
	const rest = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	var b strings.Builder
	b.WriteString("AKIA")
	b.WriteByte(old[r.IntN(len(old))])
	for range 15 {
		b.WriteByte(rest[r.IntN(len(rest))])
	}
	return b.String(), secret, "aws-old-style"
}

// GenerateAWS writes the AWS corpus under root, which must not exist or be
// empty, and returns its ground truth (sorted by path, line, column).
func GenerateAWS(root string, opts AWSOptions) ([]Entry, Stats, error) {
	if opts.Size <= 0 || opts.Every < 8 {
		return nil, Stats{}, errors.New("generate AWS corpus: size must be positive and every at least 8 lines")
	}
	if opts.RealEvery <= 0 {
		opts.RealEvery = 10
	}
	if ents, err := os.ReadDir(root); err == nil && len(ents) > 0 {
		return nil, Stats{}, fmt.Errorf("generate AWS corpus: %s is not empty", root)
	}
	// Filler lines are drawn from a pool per kind: writing then costs
	// little more than copying.
	pools := make([][]string, len(awsKinds))
	for i := range awsKinds {
		pr := rng(opts.Seed, 500+uint64(i))
		pools[i] = make([]string, 4096)
		for j := range pools[i] {
			pools[i][j] = awsKinds[i].filler(pr)
		}
	}
	r := rng(opts.Seed, 77)
	var st Stats
	var truth []Entry
	for i := 0; st.Bytes < opts.Size; i++ {
		ki := r.IntN(len(awsKinds))
		k := &awsKinds[ki]
		rel := path.Join(k.dir, fmt.Sprintf("%s-%05d%s", snake(r, 2), i, k.ext))
		size := min(logUniform(r, 2<<10, 256<<10), int(opts.Size-st.Bytes)+1)
		n, es, err := writeAWSFile(filepath.Join(root, filepath.FromSlash(rel)), rel, k, pools[ki], size, opts, rng(opts.Seed, 1<<20+uint64(i)))
		if err != nil {
			return nil, Stats{}, fmt.Errorf("generate AWS corpus: %w", err)
		}
		st.Files++
		st.Bytes += int64(n)
		for _, e := range es {
			if e.Type == TypePlanted {
				st.Planted++
			} else {
				st.Decoys++
			}
		}
		truth = append(truth, es...)
	}
	SortEntries(truth)
	return truth, st, nil
}

// writeAWSFile writes one file of about size bytes: filler with an id
// block, on average, every opts.Every lines. Blocks are kept 6 lines apart,
// so that each id pairs with its own secret.
func writeAWSFile(file, rel string, k *awsKind, filler []string, size int, opts AWSOptions, r *rand.Rand) (int, []Entry, error) {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return 0, nil, err
	}
	f, err := os.Create(file)
	if err != nil {
		return 0, nil, err
	}
	w := bufio.NewWriterSize(f, 64<<10)
	var es []Entry
	n, line := 0, 1
	emit := func(s string) {
		w.WriteString(s)
		w.WriteByte('\n')
		n += len(s) + 1
		line += strings.Count(s, "\n") + 1
	}
	gap := 6 + r.IntN(2*opts.Every-11)
	for n < size {
		if gap > 0 {
			emit(filler[r.IntN(len(filler))])
			gap--
			continue
		}
		gap = 6 + r.IntN(2*opts.Every-11)
		es = append(es, awsBlock(r, k, rel, line, opts.RealEvery, emit))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, nil, err
	}
	return n, es, f.Close()
}

// awsBlock writes one id block at line and returns its ground truth entry.
func awsBlock(r *rand.Rand, k *awsKind, rel string, line, realEvery int, emit func(string)) Entry {
	tmpl := k.templates[r.IntN(len(k.templates))]
	e := Entry{Path: rel, Rule: RuleAccessKey, Place: strings.TrimPrefix(k.ext, ".")}
	var id, secret string
	if r.IntN(realEvery) == 0 {
		id, secret, e.Variant = realAccessKey(r)
		e.Type = TypePlanted
		e.Fingerprint = fingerprint(RuleAccessKey, id+":"+secret)
	} else {
		ex := awsDocExamples[r.IntN(len(awsDocExamples))]
		id, secret = ex[0], ex[1]
		e.Type, e.Variant = TypeDecoy, "aws-documentation-example"
	}
	at := strings.Index(tmpl, "{ID}")
	before := tmpl[:at]
	e.Line = line + strings.Count(before, "\n")
	e.Column = len(before) - strings.LastIndexByte(before, '\n')
	emit(strings.NewReplacer("{ID}", id, "{SECRET}", secret).Replace(tmpl))
	return e
}
