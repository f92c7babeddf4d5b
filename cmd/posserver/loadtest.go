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

	"github.com/multipos/multipos/server/loadtest"
)

// loadtestCmd runs the load benchmark: pgbench's TPC-B figure first, then
// every engine with every terminal count, and prints the results as
// Markdown (progress goes to stderr).
func loadtestCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newFlags("loadtest", stderr)
	terminalsFlag := c.fl.String("terminals", "1,100,1000", "simulated terminal counts, comma separated")
	duration := c.fl.Duration("duration", 10*time.Second, "measured period of each run")
	warmup := c.fl.Duration("warmup", 2*time.Second, "unmeasured period before it")
	enginesFlag := c.fl.String("engines", "sqlite,postgres", "databases to test: sqlite, postgres or both")
	pgFlag := c.fl.String("pg", "", "PostgreSQL URL (default: -db when it is a postgres:// URL, else $MULTIPOS_TEST_PG); each run makes its own schema and drops it")
	pgbenchClients := c.fl.Int("pgbench-clients", 8, "pgbench connections")
	pgbenchScale := c.fl.Int("pgbench-scale", 10, "pgbench scale factor")
	pgbenchDuration := c.fl.Duration("pgbench-duration", 10*time.Second, "pgbench run time; 0 skips pgbench")
	cardShare := c.fl.Int("card-share", 50, "percent of sales that are card sales (the rest are wallet sales)")
	pacedFlag := c.fl.String("paced", "100", "terminal counts to run again paced, each terminal starting a sale every -pace (a chain at work); empty: none")
	pace := c.fl.Duration("pace", time.Second, "for -paced runs: how often each terminal starts a sale")
	out := c.fl.String("out", "", "also write the Markdown report to this file")
	cpuProfile := c.fl.String("cpuprofile", "", "write a CPU profile of the load test runs (pgbench excluded) to this file")
	if _, err := c.parse(args); err != nil {
		return err
	}
	if c.fl.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", c.fl.Args())
	}
	counts, err := parseCounts(*terminalsFlag)
	if err != nil {
		return err
	}
	var paced []int
	if strings.TrimSpace(*pacedFlag) != "" {
		if paced, err = parseCounts(*pacedFlag); err != nil {
			return err
		}
		if *pace <= 0 {
			return fmt.Errorf("-pace %s: want a positive period", *pace)
		}
	}
	engines, err := parseEngines(*enginesFlag)
	if err != nil {
		return err
	}
	if *cardShare < 0 || *cardShare > 100 {
		return fmt.Errorf("-card-share %d: want 0 to 100", *cardShare)
	}
	share := *cardShare
	if share == 0 {
		share = -1 // loadtest.Options: 0 is the default, negative is none
	}
	if *duration <= 0 {
		return fmt.Errorf("-duration %s: want a positive period", *duration)
	}
	if *warmup <= 0 {
		*warmup = -1 // loadtest.Options: 0 is the default, negative is none
	}
	pg := ""
	if engines["postgres"] {
		if pg, err = postgresURL(*pgFlag, *c.db); err != nil {
			return err
		}
	}

	began := time.Now()
	var report bytes.Buffer
	fmt.Fprintf(&report, "Load test run %s on %d CPUs (%s/%s, GOMAXPROCS %d): %s warm-up and %s measured per run, %d%% card sales; load generator, server and PostgreSQL share the machine.\n\n",
		began.Format(time.DateTime), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0),
		max(*warmup, 0), *duration, max(share, 0))

	var bench *loadtest.Pgbench
	if pg != "" && *pgbenchDuration > 0 {
		fmt.Fprintf(stderr, "pgbench: scale %d, %d clients, %s …\n", *pgbenchScale, *pgbenchClients, *pgbenchDuration)
		pb, err := loadtest.RunPgbench(ctx, pg, *pgbenchClients, *pgbenchScale, *pgbenchDuration)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "pgbench: %.1f tps, latency average %.1f ms\n", pb.TPS, float64(pb.Latency)/1e6)
		bench = &pb
	}

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var results []loadtest.Result
	var runErr error
runs:
	for _, engine := range []string{"sqlite", "postgres"} {
		if !engines[engine] {
			continue
		}
		dsn := ""
		if engine == "postgres" {
			dsn = pg
		}
		type run struct {
			n    int
			pace time.Duration
		}
		var plan []run
		for _, n := range counts {
			plan = append(plan, run{n, 0})
		}
		for _, n := range paced {
			plan = append(plan, run{n, *pace})
		}
		for _, p := range plan {
			what := fmt.Sprintf("%s, %d terminals", engine, p.n)
			if p.pace > 0 {
				what += ", each selling every " + p.pace.String()
			}
			fmt.Fprintf(stderr, "%s: setting up, then %s warm-up and %s measured …\n", what, max(*warmup, 0), *duration)
			start := time.Now()
			r, err := loadtest.Run(ctx, loadtest.Options{DSN: dsn, Terminals: p.n, Duration: *duration, Warmup: *warmup,
				CardShare: share, Pace: p.pace})
			if err != nil {
				runErr = fmt.Errorf("%s: %w", what, err)
				break runs
			}
			fmt.Fprintf(stderr, "%s: %.1f sales/s, p50 %.1f ms, p99 %.1f ms, %d errors (%s)\n", what,
				r.TPS, float64(r.P50)/1e6, float64(r.P99)/1e6, r.Errors, time.Since(start).Round(100*time.Millisecond))
			results = append(results, r)
		}
	}
	if len(results) > 0 || bench != nil {
		loadtest.Markdown(&report, results, bench)
		fmt.Fprintf(&report, "\nWhole run: %s.\n", time.Since(began).Round(time.Second))
		if _, err := stdout.Write(report.Bytes()); err != nil {
			return err
		}
		if *out != "" {
			if err := os.WriteFile(*out, report.Bytes(), 0o644); err != nil {
				return errors.Join(runErr, err)
			}
		}
	}
	return runErr
}

// parseCounts reads "1,100,1000".
func parseCounts(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-terminals %q: want counts of at least 1, comma separated", s)
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
			return nil, fmt.Errorf("-engines %q: want sqlite, postgres or both, comma separated", s)
		}
	}
	return out, nil
}

// postgresURL picks the PostgreSQL to test: -pg, else -db when it names
// one, else $MULTIPOS_TEST_PG.
func postgresURL(flagURL, db string) (string, error) {
	isPG := func(s string) bool {
		return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
	}
	switch env := os.Getenv("MULTIPOS_TEST_PG"); {
	case flagURL != "" && !isPG(flagURL):
		return "", fmt.Errorf("-pg %q is not a postgres:// URL", flagURL)
	case flagURL != "":
		return flagURL, nil
	case isPG(db):
		return db, nil
	case isPG(env):
		return env, nil
	}
	return "", errors.New("no PostgreSQL to test: pass -pg postgres://…, or start the test cluster with\n" +
		"\texport MULTIPOS_TEST_PG=$(scripts/need-postgres)\nor leave it out with -engines sqlite")
}
