package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/multipos/multipos/cmd/internal/cmdline"
	"github.com/multipos/multipos/cmd/posserver/internal/reconbench"
)

// reconbenchCmd is `posserver reconbench`: reconciliation at scale on each
// engine, next to the plain SQL join of the same rows (package
// internal/reconbench).
func reconbenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "reconbench",
		Short: "Measure reconciliation end to end: a day's Alipay bill against the journal",
		Long: `reconbench writes a day's Alipay trade bill of N lines (the GBK zip) and bulk-loads
N orders into a new database of each engine, then reconciles them end to end
(parse, load the day's journal, match, store the results) --runs times, each
run next to a plain SQL join of the same rows in the same database. It prints
min / median / max of each step and total ÷ join as Markdown (BENCHMARKS.md).`,
		Example: `  posserver reconbench --engines sqlite --lines 20000
  posserver reconbench --lines 1000000 --runs 3 --pg postgres://…`,
		Args: cmdline.Args(cobra.NoArgs),
	}
	fl := cmd.Flags()
	n := fl.Int("lines", 20_000, "bill lines and journal orders")
	runs := fl.Int("runs", 3, "timed runs per engine (at least 3 for figures)")
	engines := fl.String("engines", "sqlite,postgres", "databases to test: sqlite, postgres or both")
	pg := fl.String("pg", "", "PostgreSQL URL (default $MULTIPOS_TEST_PG); the run makes its own schema and drops it")
	out := fl.String("out", "", "also write the Markdown report to this file")
	cpuProfile := fl.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		set, err := parseEngines(*engines)
		if err != nil {
			return err
		}
		o := reconbench.Options{N: *n, Runs: *runs, Log: cmd.ErrOrStderr()}
		for _, e := range []string{"sqlite", "postgres"} {
			if set[e] {
				o.Engines = append(o.Engines, e)
			}
		}
		if slices.Contains(o.Engines, "postgres") {
			if o.PG, err = postgresURL(*pg, ""); err != nil {
				return err
			}
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
		began := time.Now()
		results, runErr := reconbench.Run(cmd.Context(), o)
		if len(results) == 0 {
			return runErr
		}
		var report bytes.Buffer
		fmt.Fprintf(&report, "Reconciliation benchmark run %s: %d bill lines against %d journal orders, %d runs per engine.\n\n",
			began.UTC().Format(time.DateTime+" UTC"), o.N, o.N, len(results[0].Runs))
		reconbench.Markdown(&report, results)
		if _, err := cmd.OutOrStdout().Write(report.Bytes()); err != nil {
			return err
		}
		if *out != "" {
			if err := os.WriteFile(*out, report.Bytes(), 0o644); err != nil {
				return err
			}
		}
		return runErr
	}
	return cmd
}
