// Command servebench runs `make bench-serve`'s measurements (package
// servebench) once: against SQLite in -dir, or the PostgreSQL database
// -db names. scripts/bench-serve.sh runs it for both.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/bks-dev/bks/internal/servebench"
)

func main() {
	var o servebench.Options
	var extra, out string
	flag.StringVar(&o.BKS, "bks", "bin/bks", "the bks binary")
	flag.StringVar(&o.DB, "db", "", "postgres:// URL of an empty database (default: SQLite in -dir)")
	flag.StringVar(&o.Dir, "dir", "", "a new working directory (required)")
	flag.StringVar(&extra, "serve-flags", "", "more bks serve flags, space-separated")
	flag.IntVar(&o.Latency, "pushes", 200, "pushes of the latency phase (0: skip)")
	flag.Float64Var(&o.Rate, "rate", 2, "deliveries per second of the latency phase")
	flag.IntVar(&o.Burst, "burst", 1000, "deliveries of the burst phase (0: skip)")
	flag.DurationVar(&o.Window, "window", 20*time.Second, "the burst's window")
	flag.DurationVar(&o.Wait, "wait", 15*time.Minute, "longest wait for revocations or a drain")
	flag.StringVar(&out, "out", "", "append the Markdown section to this file too")
	flag.BoolVar(&o.GitProfile, "git-profile", false, "split the git processes' CPU by git command (a bash shim named git first on bks's PATH)")
	flag.Parse()
	if o.Dir == "" {
		flag.Usage()
		os.Exit(2)
	}
	o.Extra = strings.Fields(extra)
	var w io.Writer = os.Stdout
	if out != "" {
		f, err := os.OpenFile(out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			fmt.Fprintln(os.Stderr, "servebench:", err)
			os.Exit(1)
		}
		defer f.Close()
		w = io.MultiWriter(os.Stdout, f)
	}
	if err := servebench.Run(o, w); err != nil {
		fmt.Fprintln(os.Stderr, "servebench:", err)
		os.Exit(1)
	}
}
