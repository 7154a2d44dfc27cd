package servebench

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bks-dev/bks/serve/store"
)

// Options is one benchmark run.
type Options struct {
	BKS     string   // the bks binary
	DB      string   // a postgres:// URL of an empty database, or "" for SQLite in Dir
	Dir     string   // a new working directory
	Extra   []string // more bks serve flags (--workers, --max-queue, --db-conns)
	Latency int      // pushes of the latency phase (0: skipped)
	Rate    float64  // their deliveries per second
	Burst   int      // deliveries of the burst phase (0: skipped)
	Window  time.Duration
	Wait    time.Duration // longest wait for revocations or a drain
	// GitProfile splits the git processes' CPU by git command (a shim
	// on bks's PATH: gitprofile.go).
	GitProfile bool
}

// Run runs the phases and writes the Markdown section to out.
func Run(o Options, out io.Writer) error {
	db := o.DB
	if db == "" {
		db = filepath.Join(o.Dir, "serve.db")
	}
	f, err := newFixture(filepath.Join(o.Dir, "repos"), []phase{
		{name: "latency", n: o.Latency, repos: max(1, o.Latency/10), every: 1},
		{name: "burst", n: o.Burst, repos: max(1, o.Burst/20), every: 10},
	})
	if err != nil {
		return err
	}
	defer f.Close()
	var prof *gitProfile
	var env []string
	if o.GitProfile {
		if prof, env, err = newGitProfile(o.Dir); err != nil {
			return err
		}
	}
	b, err := startBKS(o.BKS, o.Dir, db, f, o.Extra, env)
	if err != nil {
		return err
	}
	profile := func(phase string, jobs int) {
		if prof == nil {
			return
		}
		costs, err := prof.take()
		if err != nil {
			fmt.Fprintf(out, "\nGit profile, %s: %v\n", phase, err)
			return
		}
		writeGitProfile(out, phase, costs, jobs)
	}
	defer b.stop()
	st, err := store.Open(context.Background(), db)
	if err != nil {
		return err
	}
	defer st.Close()
	dialect := st.Dialect()
	fmt.Fprintf(out, "\n### %s, bks serve %s\n\n", dialect, strings.Join(o.Extra, " "))
	if o.Latency > 0 {
		before := b.cpu()
		r := runLatency(b, f, f.sets["latency"], o.Rate, o.Wait)
		writeLatency(out, o, r)
		// A job's work after its revocation (the commit status, gits
		// still running) is the phase's too: read the CPU once the queue
		// is drained, and the burst then starts from an empty queue.
		if _, err := drain(st, o.Wait); err != nil {
			return err
		}
		writeCPU(out, "latency phase, to the drain", b.cpu().sub(before), r.statuses[http.StatusAccepted])
		profile("latency phase, to the drain", r.statuses[http.StatusAccepted])
	}
	if o.Burst > 0 {
		before := b.cpu()
		r := runBurst(b, f, st, f.sets["burst"], o.Window, o.Wait)
		writeBurst(out, o, r)
		writeCPU(out, "burst, to the drain", b.cpu().sub(before), r.processed)
		profile("burst, to the drain", r.processed)
	}
	peak, cpu := b.usage()
	size, err := dbSize(db)
	fmt.Fprintf(out, "\nbks serve: peak RSS %.1f MiB, CPU %.1f s (user+sys: bks %.1f s, the git processes it ran %.1f s); database %.1f MiB%s\n",
		float64(peak)/1024, cpu.total().Seconds(), cpu.own.Seconds(), cpu.children.Seconds(), float64(size)/(1<<20), errNote(err))
	return nil
}

// writeCPU reports a phase's CPU per job processed, split between bks and
// the git processes it ran (fetch, rev-list, count-objects, the scan's
// reads). bks's share includes what is not per job: answering the
// deliveries, the workers' polls, the database (SQLite in the process;
// PostgreSQL's server is not counted).
func writeCPU(out io.Writer, phase string, c cpuUse, jobs int) {
	if jobs == 0 {
		return
	}
	per := func(d time.Duration) float64 { return float64(d.Milliseconds()) / float64(jobs) }
	fmt.Fprintf(out, "\nCPU per job, %s (%d jobs, %.1f s in all): %.0f ms, of which bks %.0f ms and its git processes %.0f ms "+
		"(user+sys from /proc/PID/stat: utime+stime, cutime+cstime; 10 ms ticks)\n",
		phase, jobs, c.total().Seconds(), per(c.total()), per(c.own), per(c.children))
}

func errNote(err error) string {
	if err != nil {
		return fmt.Sprintf(" (size: %v)", err)
	}
	return ""
}

func writeLatency(out io.Writer, o Options, r latencyResult) {
	goal := "met"
	if pct(r.lat, 95) >= 10*time.Second || r.revoked < r.n {
		goal = "NOT met"
	}
	fmt.Fprintf(out, "Push-to-revocation: %d pushes with a key each, %.1f/s over %d repositories; answers %v; "+
		"%d revoked; latency p50 %s, p95 %s, max %s (goal p95 < 10 s: %s); phase wall %s\n",
		r.n, o.Rate, max(1, o.Latency/10), r.statuses, r.revoked, rd(pct(r.lat, 50)), rd(pct(r.lat, 95)), rd(pct(r.lat, 100)), goal, rd(r.wall))
}

func writeBurst(out io.Writer, o Options, r burstResult) {
	fmt.Fprintf(out, "\nBurst: %d deliveries in %s (sent in %s); answers %v (503s by reason %v; %d neither 202 nor 503 with Retry-After); "+
		"answer time p50 %s, p95 %s, max %s; %d replays of accepted ones answered %v\n",
		r.n, o.Window, rd(r.sendWall), r.statuses, r.refusals, r.badRefusals, rd(pct(r.answer, 50)), rd(pct(r.answer, 95)), rd(pct(r.answer, 100)), r.replays, r.replayStatuses)
	drained := "drained in " + rd(r.drainWall).String()
	if r.drainErr != nil {
		drained = r.drainErr.Error()
	}
	verdict := "exactly once in effect"
	if r.badRefusals > 0 || r.accepted == 0 || r.processed != r.accepted || r.okRuns != r.accepted || r.okRevoked != r.keyed || r.extraRuns+r.extraWrites+r.wrongRuns > 0 || r.refusedClean != r.n-r.accepted {
		verdict = "NOT exactly once"
	}
	fmt.Fprintf(out, "\nAfter the queue %s: %d accepted, %d processed; %d with one commit status (%d extra, %d missing); "+
		"%d keys among them, %d revoked once (%d extra IAM writes); %d of %d refused with no effect: %s\n",
		drained, r.accepted, r.processed, r.okRuns, r.extraRuns, r.wrongRuns, r.keyed, r.okRevoked, r.extraWrites,
		r.refusedClean, r.n-r.accepted, verdict)
}

func rd(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

// dbSize is the database's size: the SQLite file with its WAL, or
// PostgreSQL's pg_database_size.
func dbSize(dsn string) (int64, error) {
	if !strings.HasPrefix(dsn, "postgres") {
		var n int64
		for _, s := range []string{"", "-wal", "-shm"} {
			if fi, err := os.Stat(dsn + s); err == nil {
				n += fi.Size()
			}
		}
		return n, nil
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int64
	err = db.QueryRow("SELECT pg_database_size(current_database())").Scan(&n)
	return n, err
}
