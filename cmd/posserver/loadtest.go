package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/multipos/multipos/cmd/internal/cmdline"
	"github.com/multipos/multipos/cmd/posserver/internal/loadtest"
)

// loadtestFlags are the flags of `posserver loadtest`.
type loadtestFlags struct {
	common
	terminals, engines, pg, paced, out, cpuProfile string
	duration, warmup, pgbenchDuration, pace        time.Duration
	pgbenchClients, pgbenchScale, cardShare        int
}

// loadPlan is what a load test does, read from its flags.
type loadPlan struct {
	f      *loadtestFlags
	runs   []loadRun
	pg     string // "" when PostgreSQL is not tested
	share  int    // as loadtest.Options.CardShare
	warmup time.Duration
}

// loadRun is one run of the plan.
type loadRun struct {
	engine, dsn string
	terminals   int
	pace        time.Duration
}

// loadtestCmd runs the load benchmark: pgbench's TPC-B figure first, then
// every engine with every terminal count, and prints the results as
// Markdown (progress goes to stderr).
func loadtestCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "loadtest",
		Short: "Measure posserver under load: simulated terminals selling back to back",
		Long: `loadtest starts a real posserver in-process (HTTPS with mutual TLS, the wallet
and bank stand-ins) on a database of its own and drives it with simulated
terminals, for every engine and terminal count, after pgbench's TPC-B figure
on the same PostgreSQL. It prints the results as Markdown (BENCHMARKS.md).`,
		Example: `  posserver loadtest --engines sqlite --terminals 1,100 --duration 5s`,
		Args:    cmdline.Args(cobra.NoArgs),
	}
	f := &loadtestFlags{common: configFlags(cmd)}
	fl := cmd.Flags()
	fl.StringVar(&f.terminals, "terminals", "1,100,1000", "simulated terminal counts, comma separated")
	fl.DurationVar(&f.duration, "duration", 10*time.Second, "measured period of each run")
	fl.DurationVar(&f.warmup, "warmup", 2*time.Second, "unmeasured period before it")
	fl.StringVar(&f.engines, "engines", "sqlite,postgres", "databases to test: sqlite, postgres or both")
	fl.StringVar(&f.pg, "pg", "", "PostgreSQL URL (default: --db when it is a postgres:// URL, else $MULTIPOS_TEST_PG); each run makes its own schema and drops it")
	fl.IntVar(&f.pgbenchClients, "pgbench-clients", 8, "pgbench connections")
	fl.IntVar(&f.pgbenchScale, "pgbench-scale", 10, "pgbench scale factor")
	fl.DurationVar(&f.pgbenchDuration, "pgbench-duration", 10*time.Second, "pgbench run time; 0 skips pgbench")
	fl.IntVar(&f.cardShare, "card-share", 50, "percent of sales that are card sales (the rest are wallet sales)")
	fl.StringVar(&f.paced, "paced", "100", "terminal counts to run again paced, each terminal starting a sale every --pace (a chain at work); empty: none")
	fl.DurationVar(&f.pace, "pace", time.Second, "for --paced runs: how often each terminal starts a sale")
	fl.StringVar(&f.out, "out", "", "also write the Markdown report to this file")
	fl.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the load test runs (pgbench excluded) to this file")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if _, err := f.load(); err != nil {
			return err
		}
		p, err := f.plan()
		if err != nil {
			return err
		}
		return p.run(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr())
	}
	return cmd
}

// plan checks the flags and lists the runs.
func (f *loadtestFlags) plan() (loadPlan, error) {
	p := loadPlan{f: f, share: f.cardShare, warmup: f.warmup}
	counts, err := parseCounts(f.terminals)
	if err != nil {
		return p, err
	}
	var paced []int
	if strings.TrimSpace(f.paced) != "" {
		if paced, err = parseCounts(f.paced); err != nil {
			return p, err
		}
		if f.pace <= 0 {
			return p, cmdline.Usagef("--pace %s: want a positive period", f.pace)
		}
	}
	engines, err := parseEngines(f.engines)
	if err != nil {
		return p, err
	}
	switch {
	case f.cardShare < 0 || f.cardShare > 100:
		return p, cmdline.Usagef("--card-share %d: want 0 to 100", f.cardShare)
	case f.cardShare == 0:
		p.share = -1 // loadtest.Options: 0 is the default, negative is none
	}
	if f.duration <= 0 {
		return p, cmdline.Usagef("--duration %s: want a positive period", f.duration)
	}
	if f.warmup <= 0 {
		p.warmup = -1 // loadtest.Options: 0 is the default, negative is none
	}
	if engines["postgres"] {
		if p.pg, err = postgresURL(f.pg, *f.db); err != nil {
			return p, err
		}
	}
	for _, engine := range []string{"sqlite", "postgres"} {
		if !engines[engine] {
			continue
		}
		dsn := map[string]string{"postgres": p.pg}[engine]
		for _, n := range counts {
			p.runs = append(p.runs, loadRun{engine, dsn, n, 0})
		}
		for _, n := range paced {
			p.runs = append(p.runs, loadRun{engine, dsn, n, f.pace})
		}
	}
	return p, nil
}

// run takes pgbench's figure, does the runs and writes the report.
func (p loadPlan) run(ctx context.Context, stdout, stderr io.Writer) error {
	began := time.Now()
	var report bytes.Buffer
	fmt.Fprintf(&report, "Load test run %s on %d CPUs (%s/%s, GOMAXPROCS %d): %s warm-up and %s measured per run, %d%% card sales; load generator, server and PostgreSQL share the machine.\n\n",
		began.Format(time.DateTime), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0),
		max(p.warmup, 0), p.f.duration, max(p.share, 0))
	bench, err := p.pgbench(ctx, stderr)
	if err != nil {
		return err
	}
	results, runErr := p.runAll(ctx, stderr)
	if len(results) == 0 && bench == nil {
		return runErr
	}
	loadtest.Markdown(&report, results, bench)
	fmt.Fprintf(&report, "\nWhole run: %s.\n", time.Since(began).Round(time.Second))
	if _, err := stdout.Write(report.Bytes()); err != nil {
		return err
	}
	if p.f.out != "" {
		if err := os.WriteFile(p.f.out, report.Bytes(), 0o644); err != nil {
			return errors.Join(runErr, err)
		}
	}
	return runErr
}

// pgbench takes pgbench's TPC-B figure on the PostgreSQL tested, if asked.
func (p loadPlan) pgbench(ctx context.Context, stderr io.Writer) (*loadtest.Pgbench, error) {
	f := p.f
	if p.pg == "" || f.pgbenchDuration <= 0 {
		return nil, nil
	}
	fmt.Fprintf(stderr, "pgbench: scale %d, %d clients, %s …\n", f.pgbenchScale, f.pgbenchClients, f.pgbenchDuration)
	pb, err := loadtest.RunPgbench(ctx, p.pg, f.pgbenchClients, f.pgbenchScale, f.pgbenchDuration)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "pgbench: %.1f tps, latency average %.1f ms\n", pb.TPS, float64(pb.Latency)/1e6)
	return &pb, nil
}

// runAll does the runs, under the CPU profiler if asked, and returns the
// results of those that finished and the error that stopped the rest.
func (p loadPlan) runAll(ctx context.Context, stderr io.Writer) ([]loadtest.Result, error) {
	if p.f.cpuProfile != "" {
		f, err := os.Create(p.f.cpuProfile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	var results []loadtest.Result
	for _, r := range p.runs {
		what := fmt.Sprintf("%s, %d terminals", r.engine, r.terminals)
		if r.pace > 0 {
			what += ", each selling every " + r.pace.String()
		}
		fmt.Fprintf(stderr, "%s: setting up, then %s warm-up and %s measured …\n", what, max(p.warmup, 0), p.f.duration)
		start := time.Now()
		res, err := loadtest.Run(ctx, loadtest.Options{DSN: r.dsn, Terminals: r.terminals, Duration: p.f.duration,
			Warmup: p.warmup, CardShare: p.share, Pace: r.pace})
		if err != nil {
			return results, fmt.Errorf("%s: %w", what, err)
		}
		fmt.Fprintf(stderr, "%s: %.1f sales/s, p50 %.1f ms, p99 %.1f ms, %d errors (%s)\n", what,
			res.TPS, float64(res.P50)/1e6, float64(res.P99)/1e6, res.Errors, time.Since(start).Round(100*time.Millisecond))
		results = append(results, res)
	}
	return results, nil
}

// parseCounts reads "1,100,1000".
func parseCounts(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, cmdline.Usagef("--terminals %q: want counts of at least 1, comma separated", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// parseEngines reads "sqlite,postgres".
func parseEngines(s string) (map[string]bool, error) {
	out := map[string]bool{}
	for f := range strings.SplitSeq(s, ",") {
		switch e := strings.TrimSpace(f); e {
		case "sqlite", "postgres":
			out[e] = true
		default:
			return nil, cmdline.Usagef("--engines %q: want sqlite, postgres or both, comma separated", s)
		}
	}
	return out, nil
}

// postgresURL picks the PostgreSQL to test: --pg, else --db when it names
// one, else $MULTIPOS_TEST_PG.
func postgresURL(flagURL, db string) (string, error) {
	isPG := func(s string) bool {
		return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
	}
	switch env := os.Getenv("MULTIPOS_TEST_PG"); {
	case flagURL != "" && !isPG(flagURL):
		return "", cmdline.Usagef("--pg %q is not a postgres:// URL", flagURL)
	case flagURL != "":
		return flagURL, nil
	case isPG(db):
		return db, nil
	case isPG(env):
		return env, nil
	}
	return "", errors.New("no PostgreSQL to test: pass --pg postgres://…, or start the test cluster with\n" +
		"\texport MULTIPOS_TEST_PG=$(scripts/need-postgres)\nor leave it out with --engines sqlite")
}
