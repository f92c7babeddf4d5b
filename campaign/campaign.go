package campaign

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/multipos/multipos/api"
)

// Result is what a campaign found.
type Result struct {
	Runs, Sales, Kills, Faults int
	Found                      map[FindingKind]int
	FailedRuns                 []int
	Interrupted                bool

	salesByKind  map[string]int // kind → purchases
	outcomes     map[string]int // kind/outcome → purchases
	cardCodes    map[string]int // the bank's response codes card attempts were told
	faultsByKind map[string]int
	faultErrs    int
	faultsArmed  int // planned but not injected: the same was still armed
	elapsed      time.Duration
}

// OK reports whether every invariant held in every run.
func (r Result) OK() bool {
	return r.Found[Lost]+r.Found[DoubleCharged]+r.Found[Disagreement]+r.Found[Stuck] == 0 && !r.Interrupted
}

// Line is the campaign's last line.
func (r Result) Line() string {
	return fmt.Sprintf("campaign: %d runs, %d sales, %d kills, %d faults: %d lost, %d double-charged, %d disagreements, %d stuck",
		r.Runs, r.Sales, r.Kills, r.Faults, r.Found[Lost], r.Found[DoubleCharged], r.Found[Disagreement], r.Found[Stuck])
}

// campaign is a campaign in progress.
type campaign struct {
	w   *World
	cfg Config

	mu         sync.Mutex
	res        Result
	seen       map[string]bool    // finding keys reported already
	byTerminal map[string][]*Sale // every sale checked so far, by terminal
	out        sync.Mutex         // one run's report at a time
}

// runResult is what one run did and found.
type runResult struct {
	n        int
	seed     uint64
	r        *runState
	findings []Finding
	err      error
	took     time.Duration
}

// Run runs the campaign: starts the world, runs cfg.Runs seeded runs
// (cfg.Parallel at a time), checks each once it has settled and the whole
// at the end, and reports on cfg.Out, ending with Result.Line.
func Run(ctx context.Context, cfg Config) (Result, error) {
	began := time.Now()
	w, err := StartWorld(ctx, cfg)
	if err != nil {
		return Result{}, err
	}
	defer w.Close()
	c := &campaign{w: w, cfg: cfg, seen: map[string]bool{}, byTerminal: map[string][]*Sale{}, res: Result{Found: map[FindingKind]int{},
		salesByKind: map[string]int{}, outcomes: map[string]int{}, cardCodes: map[string]int{}, faultsByKind: map[string]int{}}}
	fmt.Fprintf(cfg.Out, "campaign: seed %d, %d runs of %d terminals × %d sales, %s (%d posserver), %d runs at once; folder %s\n",
		cfg.Seed, cfg.Runs, cfg.Terminals, cfg.Sales, cfg.Engine, len(w.servers), max(cfg.Parallel, 1), w.Dir())
	var wg sync.WaitGroup
	for n := range cfg.Runs {
		terms, err := w.pool.take(ctx, cfg.Terminals)
		if err != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rr := c.run(ctx, n, terms)
			w.pool.put(terms)
			c.record(rr)
		}()
	}
	wg.Wait()
	c.res.Interrupted = ctx.Err() != nil
	if !c.res.Interrupted {
		c.finalCheck(ctx)
	}
	c.res.elapsed = time.Since(began)
	c.summary()
	return c.res, nil
}

// run runs and checks run n on its terminals.
func (c *campaign) run(ctx context.Context, n int, terms []*terminal) runResult {
	seed := RunSeed(c.cfg.Seed, n)
	r := &runState{n: n, plan: NewPlan(seed, c.cfg.sizes()), terms: terms, start: time.Now()}
	rr := runResult{n: n, seed: seed, r: r}
	c.w.traffic(ctx, r)
	snap, err := c.w.settle(ctx, r)
	if err != nil {
		rr.err = err
		return rr
	}
	books, err := c.w.books(ctx, r.terminalIDs(), snap, r.start)
	if err != nil {
		rr.err = err
		return rr
	}
	// Earlier runs' sales on these terminals too: a finding about one of
	// their transactions (a later reversal undid it) names its sale.
	sales := append(c.earlier(r.terminalIDs()), r.sales...)
	rr.findings = Check(sales, books, Scope{Since: r.start, Now: time.Now(), Deadline: c.w.deadline})
	rr.took = time.Since(r.start)
	return rr
}

// earlier returns the sales of earlier runs on the terminals.
func (c *campaign) earlier(ids []string) []*Sale {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*Sale
	for _, id := range ids {
		out = append(out, c.byTerminal[id]...)
	}
	return out
}

// record counts a run and reports it.
func (c *campaign) record(rr runResult) {
	c.mu.Lock()
	var fresh []Finding
	for _, f := range rr.findings {
		if !c.seen[f.Key] {
			c.seen[f.Key] = true
			fresh = append(fresh, f)
			c.res.Found[f.Kind]++
		}
	}
	rr.findings = fresh
	if rr.err == nil && rr.n >= 0 {
		c.res.Runs++
	}
	if len(fresh) > 0 {
		c.res.FailedRuns = append(c.res.FailedRuns, rr.n)
	}
	c.count(rr.r)
	c.mu.Unlock()
	c.out.Lock()
	defer c.out.Unlock()
	c.reportRun(rr)
}

// count adds a run's sales and faults to the totals. Called with c.mu held.
func (c *campaign) count(r *runState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c.res.Sales += len(r.sales)
	c.res.Kills += r.kills
	c.res.Faults += len(r.faults)
	c.res.faultErrs += len(r.errs)
	c.res.faultsArmed += r.pending
	if r.kills > 0 {
		c.res.faultsByKind[string(FaultKill)] += r.kills
	}
	for _, f := range r.faults {
		c.res.faultsByKind[f]++
	}
	for _, s := range r.sales {
		c.byTerminal[s.Terminal] = append(c.byTerminal[s.Terminal], s)
		kind := string(s.Plan.Kind)
		if s.Plan.Kind != KindCard {
			kind += " " + string(s.Plan.Channel)
		}
		c.res.salesByKind[kind]++
		c.res.outcomes[outcome(s)]++
		for _, a := range s.Attempts {
			if a.Kind == api.KindCardSale {
				c.res.cardCodes[orNone(a.Code)]++
			}
		}
	}
}

// outcome names how a purchase ended, as the terminal saw it.
func outcome(s *Sale) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.Paid && s.Adjust != nil && s.Adjust.Saw == "SUCCESS":
		return "paid then " + string(s.Adjust.Kind)[len("card_"):]
	case s.Paid:
		return "paid"
	}
	for _, a := range s.Attempts {
		if a.Saw == "" || !a.Saw.Final() {
			return "not paid (outcome unknown to the terminal)"
		}
	}
	return "not paid"
}

// finalCheck checks every book whole once every run has settled: money a
// wallet or the bank keeps for what the journal does not have, and what
// changed since a run's own check.
func (c *campaign) finalCheck(ctx context.Context) {
	b, err := c.w.allBooks(ctx)
	if err != nil {
		fmt.Fprintf(c.cfg.Out, "final check: %v\n", err)
		return
	}
	var ids []string
	for _, t := range c.w.pool.all {
		ids = append(ids, t.id)
	}
	sales := c.earlier(ids)
	rr := runResult{n: -1, r: &runState{n: -1}}
	rr.findings = Check(sales, b, Scope{Since: time.Now()})
	c.record(rr)
}
