package campaign

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// reportRun prints a run's progress line and, when it broke an
// invariant, what broke and how to replay it.
func (c *campaign) reportRun(rr runResult) {
	out := c.cfg.Out
	r := rr.r
	if rr.n < 0 {
		if len(rr.findings) > 0 {
			fmt.Fprintf(out, "final check of every book: %s\n", countText(rr.findings))
			c.findings(rr)
		}
		return
	}
	r.mu.Lock()
	kinds := map[SaleKind]int{}
	for _, s := range r.sales {
		kinds[s.Plan.Kind]++
	}
	faults := []string{}
	for _, f := range r.plan.Faults {
		faults = append(faults, f.String())
	}
	errs := append([]string(nil), r.errs...)
	r.mu.Unlock()
	status := "ok"
	switch {
	case rr.err != nil:
		status = "not checked: " + rr.err.Error()
	case len(rr.findings) > 0:
		status = "FAILED: " + countText(rr.findings)
	}
	fmt.Fprintf(out, "run %d/%d seed %d: %d sales (%d card, %d qr, %d code), faults [%s], %.1fs: %s\n",
		rr.n+1, c.cfg.Runs, rr.seed, kinds[KindCard]+kinds[KindQR]+kinds[KindCode], kinds[KindCard], kinds[KindQR], kinds[KindCode],
		strings.Join(faults, " "), rr.took.Seconds(), status)
	for _, e := range errs {
		fmt.Fprintf(out, "  fault not injected: %s\n", e)
	}
	if c.cfg.Verbose {
		for _, s := range r.sales {
			fmt.Fprintf(out, "  %s: %s\n", s.Describe(), s.Saw())
			for _, e := range s.Events() {
				fmt.Fprintf(out, "      %s\n", e)
			}
		}
	}
	if len(rr.findings) > 0 {
		c.findings(rr)
		engine := ""
		if c.cfg.Engine == EnginePostgres {
			engine = " ENGINE=postgres"
		}
		fmt.Fprintf(out, "  replay: make campaign SEED=%d%s\n", rr.seed, engine)
		for _, f := range rr.findings {
			if f.Sale != nil && f.Sale.Run != rr.n {
				// What an earlier run left on the terminal took part: only
				// the campaign up to this run has that history.
				fmt.Fprintf(out, "  (a sale of run %d took part: make campaign SEED=%d RUNS=%d%s replays the campaign up to here)\n",
					f.Sale.Run+1, c.cfg.Seed, rr.n+1, engine)
				break
			}
		}
	}
}

func countText(fs []Finding) string {
	n := map[FindingKind]int{}
	for _, f := range fs {
		n[f.Kind]++
	}
	return fmt.Sprintf("%d lost, %d double-charged, %d disagreements, %d stuck", n[Lost], n[DoubleCharged], n[Disagreement], n[Stuck])
}

// findings prints each finding with the terminal's, the journal's and the
// channel's side.
func (c *campaign) findings(rr runResult) {
	out := c.cfg.Out
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, f := range rr.findings {
		fmt.Fprintf(out, "  %s: %s\n", f.Kind, f.What)
		if s := f.Sale; s != nil {
			fmt.Fprintf(out, "    sale:     %s\n", s.Describe())
			fmt.Fprintf(out, "    terminal: %s\n", s.Saw())
			for _, a := range s.AttemptsText() {
				fmt.Fprintf(out, "              %s\n", a)
			}
		}
		if f.Journal != "" {
			fmt.Fprintf(out, "    journal:  %s\n", f.Journal)
		}
		for _, id := range f.TxIDs {
			if h := c.w.history(ctx, id); h != "" {
				fmt.Fprintf(out, "    history:  %s: %s\n", id, h)
			}
		}
		if f.Channel != "" {
			fmt.Fprintf(out, "    channel:  %s\n", f.Channel)
		}
		if s := f.Sale; s != nil {
			for _, e := range s.Events() {
				fmt.Fprintf(out, "      %s\n", e)
			}
		}
	}
}

// summary prints the campaign's totals and, last, its line.
func (c *campaign) summary() {
	out := c.cfg.Out
	r := c.res
	fmt.Fprintf(out, "\nsales by kind:   %s\n", joinCounts(r.salesByKind))
	fmt.Fprintf(out, "sales by result: %s\n", joinCounts(r.outcomes))
	fmt.Fprintf(out, "card sales by the bank's answer (· none): %s\n", joinCounts(r.cardCodes))
	fmt.Fprintf(out, "faults by kind:  %s\n", joinCounts(r.faultsByKind))
	if r.faultsArmed > 0 {
		fmt.Fprintf(out, "bank faults not injected because the same was still armed: %d\n", r.faultsArmed)
	}
	if r.faultErrs > 0 {
		fmt.Fprintf(out, "faults that could not be injected: %d\n", r.faultErrs)
	}
	for _, s := range c.w.servers {
		if s.restartErr > 0 {
			fmt.Fprintf(out, "posserver #%d failed to restart %d times (see %s)\n", s.n, s.restartErr, s.proc.log)
		}
	}
	if len(r.FailedRuns) > 0 {
		var runs []string
		for _, n := range r.FailedRuns {
			if n >= 0 {
				runs = append(runs, fmt.Sprint(n+1))
			}
		}
		fmt.Fprintf(out, "failing runs: %s; logs and database in %s\n", strings.Join(runs, ", "), c.w.Dir())
	}
	if r.Interrupted {
		fmt.Fprintln(out, "interrupted: the counts are of the runs that finished")
	}
	fmt.Fprintf(out, "took %v\n", r.elapsed.Round(time.Second))
	fmt.Fprintln(out, r.Line())
}

func joinCounts(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
