// Command gencorpus writes the benchmark corpus of `make bench` and checks a
// scan's findings against its ground truth.
//
//	gencorpus generate -out DIR -truth FILE [-size 1GiB] [-seed 1]
//	gencorpus oneline  -out FILE -truth FILE [-size 2GiB] [-seed 1]
//	gencorpus aws      -out DIR -truth FILE [-size 1GiB] [-seed 1] [-every 40]
//	gencorpus verify   -truth FILE -findings FILE [-gitleaks]
//
// verify exits 0 when every planted key was found exactly once at its place
// and nothing else (no decoy) was reported, 1 otherwise, 2 on error. With
// -gitleaks it reads a gitleaks JSON report and only counts, by place, the
// planted keys and decoys it reported.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/bks-dev/bks/internal/benchcorpus"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage:
  gencorpus generate -out DIR -truth FILE [-size 1GiB] [-seed 1]
  gencorpus oneline  -out FILE -truth FILE [-size 2GiB] [-seed 1]
  gencorpus aws      -out DIR -truth FILE [-size 1GiB] [-seed 1] [-every 40]
  gencorpus verify   -truth FILE -findings FILE [-gitleaks]
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "generate":
		err = generate(args[1:], stdout, stderr)
	case "oneline":
		err = oneline(args[1:], stdout, stderr)
	case "aws":
		err = awsCorpus(args[1:], stdout, stderr)
	case "verify":
		var ok bool
		ok, err = verify(args[1:], stdout, stderr)
		if err == nil && !ok {
			return 1
		}
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		err = fmt.Errorf("unknown command %q\n%s", args[0], usage)
	}
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "gencorpus:", err)
		}
		return 2
	}
	return 0
}

// parseSize reads 1234, 20M, 20MB, 20MiB, 1G, 1GiB (powers of 1024).
func parseSize(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(s)), "B"), "I")
	mult := int64(1)
	if t != "" {
		switch t[len(t)-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		}
		if mult > 1 {
			t = t[:len(t)-1]
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return int64(f * float64(mult)), nil
}

type sizeFlag struct{ n *int64 }

func (s sizeFlag) String() string {
	if s.n == nil {
		return ""
	}
	return strconv.FormatInt(*s.n, 10)
}

func (s sizeFlag) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	*s.n = n
	return nil
}

func writeTruth(file string, es []benchcorpus.Entry) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := benchcorpus.WriteTruth(f, es); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func generate(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("generate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	size := int64(1 << 30)
	out := fs.String("out", "", "directory to write the corpus into (must not exist or be empty)")
	truth := fs.String("truth", "", "file to write the ground truth to (JSON lines), outside -out")
	seed := fs.Uint64("seed", 1, "seed; the same seed and size give the same corpus")
	workers := fs.Int("workers", 0, "files written in parallel (default: GOMAXPROCS)")
	fs.Var(sizeFlag{&size}, "size", "total size, e.g. 20MiB, 1GiB")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || *truth == "" {
		return errors.New("generate: -out and -truth are required")
	}
	start := time.Now()
	es, st, err := benchcorpus.Generate(*out, benchcorpus.Options{Size: size, Seed: *seed, Workers: *workers})
	if err != nil {
		return err
	}
	if err := writeTruth(*truth, es); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	d := time.Since(start)
	fmt.Fprintf(stdout, "corpus %s: %d files, %.1f MiB, %d planted keys, %d decoys, in %.1fs (%.0f MiB/s)\n",
		*out, st.Files, float64(st.Bytes)/(1<<20), st.Planted, st.Decoys, d.Seconds(), float64(st.Bytes)/(1<<20)/d.Seconds())
	return nil
}

func awsCorpus(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("aws", flag.ContinueOnError)
	fs.SetOutput(stderr)
	size := int64(1 << 30)
	out := fs.String("out", "", "directory to write the corpus into (must not exist or be empty)")
	truth := fs.String("truth", "", "file to write the ground truth to (JSON lines), outside -out")
	seed := fs.Uint64("seed", 1, "seed; the same seed, size and rate give the same corpus")
	every := fs.Int("every", 40, "lines per access key id, on average")
	fs.Var(sizeFlag{&size}, "size", "total size, e.g. 20MiB, 1GiB")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || *truth == "" {
		return errors.New("aws: -out and -truth are required")
	}
	start := time.Now()
	es, st, err := benchcorpus.GenerateAWS(*out, benchcorpus.AWSOptions{Size: size, Seed: *seed, Every: *every})
	if err != nil {
		return err
	}
	if err := writeTruth(*truth, es); err != nil {
		return fmt.Errorf("aws: %w", err)
	}
	d := time.Since(start)
	fmt.Fprintf(stdout, "AWS corpus %s: %d files, %.1f MiB, an id every %d lines, %d real-looking ids, %d documentation examples, in %.1fs\n",
		*out, st.Files, float64(st.Bytes)/(1<<20), *every, st.Planted, st.Decoys, d.Seconds())
	return nil
}

func oneline(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("oneline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	size := int64(2 << 30)
	out := fs.String("out", "", "file to write")
	truth := fs.String("truth", "", "file to write the ground truth to (JSON lines)")
	seed := fs.Uint64("seed", 1, "seed")
	fs.Var(sizeFlag{&size}, "size", "file size, e.g. 2GiB")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || *truth == "" {
		return errors.New("oneline: -out and -truth are required")
	}
	start := time.Now()
	es, err := benchcorpus.GenerateOneLine(*out, size, *seed)
	if err != nil {
		return err
	}
	if err := writeTruth(*truth, es); err != nil {
		return fmt.Errorf("oneline: %w", err)
	}
	fmt.Fprintf(stdout, "one-line file %s: %.1f MiB, %d planted keys, in %.1fs\n", *out, float64(size)/(1<<20), len(es), time.Since(start).Seconds())
	return nil
}

func verify(args []string, stdout, stderr io.Writer) (bool, error) {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	truthFile := fs.String("truth", "", "ground truth (JSON lines)")
	findingsFile := fs.String("findings", "", "bks report in --format jsonl ('-' for stdin)")
	gitleaks := fs.Bool("gitleaks", false, "the findings are a gitleaks JSON report: compare places (path and line) only, and exit 0")
	if err := fs.Parse(args); err != nil {
		return false, err
	}
	if *truthFile == "" || *findingsFile == "" {
		return false, errors.New("verify: -truth and -findings are required")
	}
	tf, err := os.Open(*truthFile)
	if err != nil {
		return false, fmt.Errorf("verify: %w", err)
	}
	defer tf.Close()
	truth, err := benchcorpus.ReadTruth(tf)
	if err != nil {
		return false, err
	}
	var fr io.Reader = os.Stdin
	if *findingsFile != "-" {
		f, err := os.Open(*findingsFile)
		if err != nil {
			return false, fmt.Errorf("verify: %w", err)
		}
		defer f.Close()
		fr = f
	}
	if *gitleaks {
		found, err := benchcorpus.ReadGitleaks(fr)
		if err != nil {
			return false, err
		}
		fmt.Fprintf(stdout, "%s\n", benchcorpus.VerifyLines(truth, found))
		return true, nil
	}
	found, err := benchcorpus.ReadFindings(fr)
	if err != nil {
		return false, err
	}
	res := benchcorpus.Verify(truth, found)
	status := "OK"
	if !res.OK() {
		status = "FAIL"
	}
	fmt.Fprintf(stdout, "verify %s: %s\n", status, res)
	return res.OK(), nil
}
