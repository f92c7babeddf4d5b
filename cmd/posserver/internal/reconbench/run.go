package reconbench

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/multipos/multipos/server/dayend"
	"github.com/multipos/multipos/server/reconcile"
	"github.com/multipos/multipos/server/store"
)

// Options say what Run measures.
type Options struct {
	N       int      // bill lines and journal orders (default 20,000)
	Runs    int      // timed runs per engine (default 3)
	Engines []string // "sqlite", "postgres" (default sqlite)
	PG      string   // PostgreSQL URL; each engine run makes its own schema and drops it
	Log     io.Writer
}

// Step is how long a step took: on the wall clock, and in CPU time of
// this process (user and system, all threads: the Go code, SQLite, which
// runs in it, and the garbage collector; not PostgreSQL's server, a
// process of its own). CPU time is what a busy machine does not inflate.
type Step struct {
	Wall, CPU time.Duration
}

// Timing is one timed run: the product's steps, and the anchor.
type Timing struct {
	Parse Step // unzip, GBK, CSV, bill lines
	Load  Step // the day's journal out of the database
	Match Step
	Store Step // the results into the database
	Total Step // the four above, one after the other
	// Run is the product end to end: dayend.Runner.Run with the bill
	// imported (claim, keep the bill, parse, load, match, settle, store).
	Run  Step
	Join Step // the anchor: the plain SQL join, in the same database
}

// mark is a point in wall-clock and CPU time.
type mark struct {
	wall time.Time
	cpu  time.Duration
}

func now() mark {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru) // cannot fail with RUSAGE_SELF
	return mark{time.Now(), time.Duration(ru.Utime.Nano() + ru.Stime.Nano())}
}

func (m mark) since() Step {
	n := now()
	return Step{Wall: n.wall.Sub(m.wall), CPU: n.cpu - m.cpu}
}

// Result is one engine's measurements.
type Result struct {
	Engine     string
	N          int
	ZipBytes   int
	Setup      time.Duration // bulk-loading the journal (not timed against the goal)
	Runs       []Timing
	LoadBefore string // /proc/loadavg before the first run and after the last
	LoadAfter  string
}

func (o *Options) normalize() error {
	if o.N == 0 {
		o.N = 20_000
	}
	if o.Runs == 0 {
		o.Runs = 3
	}
	if len(o.Engines) == 0 {
		o.Engines = []string{"sqlite"}
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.N < diffEvery || o.Runs < 1 {
		return fmt.Errorf("reconbench: want at least %d lines and one run", diffEvery)
	}
	for _, e := range o.Engines {
		switch {
		case e == "postgres" && o.PG == "":
			return fmt.Errorf("reconbench: postgres needs a PostgreSQL URL")
		case e != "sqlite" && e != "postgres":
			return fmt.Errorf("reconbench: engine %q: want sqlite or postgres", e)
		}
	}
	return nil
}

// Run makes the day's bill and journal and reconciles them on each engine,
// Runs times: each run times the steps one by one, then dayend's whole
// run, then the anchor join.
func Run(ctx context.Context, o Options) ([]Result, error) {
	if err := o.normalize(); err != nil {
		return nil, err
	}
	d := NewDay(o.N)
	start := time.Now()
	zipData, err := d.AlipayBill(d.Date.AddDate(0, 0, 1).Add(5 * time.Hour))
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Log, "reconbench: %d-line Alipay bill, %d bytes zipped, made in %s\n", o.N, len(zipData), time.Since(start).Round(time.Millisecond))
	var out []Result
	for _, e := range o.Engines {
		pg := ""
		if e == "postgres" {
			pg = o.PG
		}
		r, err := runEngine(ctx, o, d, zipData, pg)
		if err != nil {
			return out, fmt.Errorf("%s: %w", e, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func runEngine(ctx context.Context, o Options, d Day, zipData []byte, pg string) (Result, error) {
	db, err := openDatabase(ctx, pg)
	if err != nil {
		return Result{}, err
	}
	defer db.close()
	res := Result{Engine: db.engine, N: d.N, ZipBytes: len(zipData)}
	start := time.Now()
	if err := db.loadJournal(ctx, d); err != nil {
		return res, err
	}
	res.Setup = time.Since(start)
	fmt.Fprintf(o.Log, "reconbench: %s: %d journal orders loaded in %s\n", db.engine, d.N, res.Setup.Round(time.Millisecond))
	lines, err := parse(zipData)
	if err != nil {
		return res, err
	}
	if err := db.loadBillTable(ctx, lines); err != nil {
		return res, err
	}
	lines = nil
	bills, err := os.MkdirTemp("", "multipos-reconbench-bills-")
	if err != nil {
		return res, fmt.Errorf("reconbench: %w", err)
	}
	defer os.RemoveAll(bills)
	res.LoadBefore = loadAvg()
	for i := range o.Runs {
		runtime.GC() // each run starts from the same heap
		t, err := db.reconcileOnce(ctx, d, zipData, i == 0)
		if err != nil {
			return res, err
		}
		runtime.GC()
		if t.Run, err = db.dayendRun(ctx, d, zipData, bills); err != nil {
			return res, err
		}
		runtime.GC()
		if t.Join, err = db.anchor(ctx, d, i == 0); err != nil {
			return res, err
		}
		fmt.Fprintf(o.Log, "reconbench: %s run %d: parse %s, load %s, match %s, store %s, sum %s; dayend run %s; join %s (%.2f×); load average %s\n",
			db.engine, i+1, ms(t.Parse.Wall), ms(t.Load.Wall), ms(t.Match.Wall), ms(t.Store.Wall), ms(t.Total.Wall), ms(t.Run.Wall),
			ms(t.Join.Wall), t.ratio(), loadAvg())
		res.Runs = append(res.Runs, t)
	}
	res.LoadAfter = loadAvg()
	return res, nil
}

// parse is the product's reading of a downloaded bill.
func parse(zipData []byte) ([]reconcile.Line, error) { return reconcile.AlipayBill(zipData) }

// reconcileOnce is one end-to-end run of the product's code; check
// compares what it found with what the day holds.
func (db *database) reconcileOnce(ctx context.Context, d Day, zipData []byte, check bool) (Timing, error) {
	var t Timing
	start := now()
	lines, err := parse(zipData)
	if err != nil {
		return t, err
	}
	t.Parse = start.since()
	m := now()
	j, refs, err := db.journalFor(ctx, d)
	if err != nil {
		return t, err
	}
	t.Load = m.since()
	m = now()
	rep := reconcile.Match(d.Name(), lines, j)
	t.Match = m.since()
	m = now()
	if err := db.storeRun(ctx, d, lines, j, refs, rep); err != nil {
		return t, err
	}
	t.Store = m.since()
	t.Total = start.since()
	if check {
		for class, want := range d.Expected() {
			if got := countClass(rep, class); got != want {
				return t, fmt.Errorf("reconbench: matching found %d %s, want %d", got, class, want)
			}
		}
		if n, err := db.count(ctx, "SELECT (SELECT COUNT(*) FROM reconcile_lines) + (SELECT COALESCE(SUM(lines), 0) FROM reconcile_matched)"); err != nil {
			return t, err
		} else if int(n) != len(rep.Results) {
			return t, fmt.Errorf("reconbench: %d results stored, want %d", n, len(rep.Results))
		}
	}
	return t, nil
}

func countClass(rep reconcile.Report, class string) int {
	n := 0
	for i := range rep.Results {
		if rep.Results[i].Class.String() == class {
			n++
		}
	}
	return n
}

// anchor times the plain SQL join into a new table.
func (db *database) anchor(ctx context.Context, d Day, check bool) (Step, error) {
	if err := db.exec(ctx, "DROP TABLE IF EXISTS "+joinTable); err != nil {
		return Step{}, err
	}
	start := now()
	if err := db.exec(ctx, joinSQL); err != nil {
		return Step{}, err
	}
	took := start.since()
	if check {
		if err := db.checkJoin(ctx, d); err != nil {
			return Step{}, err
		}
	}
	return took, nil
}

func (t Timing) ratio() float64 { return float64(t.Run.Wall) / float64(t.Join.Wall) }

// dayendRun times the product's whole run of the day with the bill
// imported, as `posserver reconcile -bill FILE` does, keeping the bill
// under dir.
func (db *database) dayendRun(ctx context.Context, d Day, zipData []byte, dir string) (Step, error) {
	r, err := dayend.New(dayend.Options{Store: db.st, Sources: []dayend.BillSource{dayend.AlipayBills{}}, Dir: dir, Zone: cst,
		Owner: owner})
	if err != nil {
		return Step{}, fmt.Errorf("reconbench: %w", err)
	}
	start := now()
	res, err := r.Run(ctx, dayend.Request{Day: d.Name(), Channel: reconcile.Alipay, Bill: zipData, Force: true})
	took := start.since()
	if err != nil {
		return Step{}, fmt.Errorf("reconbench: dayend: %w", err)
	}
	want := d.Expected()
	if !res.Taken || res.Run.Status != store.RunDone || res.Run.Matched != want["matched"] || res.Run.Lines != d.N+want["journal_only"] {
		return Step{}, fmt.Errorf("reconbench: dayend run: taken %v, %s, %d lines, %d matched", res.Taken, res.Run.Status,
			res.Run.Lines, res.Run.Matched)
	}
	return took, nil
}

// ms prints a duration as "850 ms" or "12.34 s".
func ms(d time.Duration) string {
	if d >= time.Second {
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000)
}
