package reconbench

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/multipos/multipos/server/connector/alipay"
	"github.com/multipos/multipos/server/reconcile"
)

// Options say what Run measures.
type Options struct {
	N       int      // bill lines and journal orders (default 20,000)
	Runs    int      // timed runs per engine (default 3)
	Engines []string // "sqlite", "postgres" (default sqlite)
	PG      string   // PostgreSQL URL; each engine run makes its own schema and drops it
	Log     io.Writer
}

// Timing is one timed run: the product's steps, and the anchor.
type Timing struct {
	Parse time.Duration // unzip, GBK, CSV, bill lines
	Load  time.Duration // the day's journal out of the database
	Match time.Duration
	Store time.Duration // the results into the database
	Total time.Duration // the four above, end to end
	Join  time.Duration // the anchor: the plain SQL join, in the same database
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
// Runs times, each run followed by the anchor join.
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
	res.LoadBefore = loadAvg()
	for i := range o.Runs {
		runtime.GC() // each run starts from the same heap
		t, err := db.reconcileOnce(ctx, d, zipData, i == 0)
		if err != nil {
			return res, err
		}
		runtime.GC()
		if t.Join, err = db.anchor(ctx, d, i == 0); err != nil {
			return res, err
		}
		fmt.Fprintf(o.Log, "reconbench: %s run %d: parse %s, load %s, match %s, store %s, total %s; join %s (%.2f×)\n",
			db.engine, i+1, ms(t.Parse), ms(t.Load), ms(t.Match), ms(t.Store), ms(t.Total), ms(t.Join), t.ratio())
		res.Runs = append(res.Runs, t)
	}
	res.LoadAfter = loadAvg()
	return res, nil
}

// parse is the product's reading of a downloaded bill.
func parse(zipData []byte) ([]reconcile.Line, error) {
	rows, err := alipay.ParseBill(zipData)
	if err != nil {
		return nil, err
	}
	return reconcile.FromAlipay(rows), nil
}

// reconcileOnce is one end-to-end run of the product's code; check
// compares what it found with what the day holds.
func (db *database) reconcileOnce(ctx context.Context, d Day, zipData []byte, check bool) (Timing, error) {
	var t Timing
	start := time.Now()
	lines, err := parse(zipData)
	if err != nil {
		return t, err
	}
	t.Parse = time.Since(start)
	mark := time.Now()
	j, refs, err := db.journalFor(ctx, d)
	if err != nil {
		return t, err
	}
	t.Load = time.Since(mark)
	mark = time.Now()
	rep := reconcile.Match(d.Name(), lines, j)
	t.Match = time.Since(mark)
	mark = time.Now()
	if err := db.storeRun(ctx, d, lines, j, refs, rep); err != nil {
		return t, err
	}
	t.Store = time.Since(mark)
	t.Total = time.Since(start)
	if check {
		for class, want := range d.Expected() {
			if got := countClass(rep, class); got != want {
				return t, fmt.Errorf("reconbench: matching found %d %s, want %d", got, class, want)
			}
		}
		if n, err := db.count(ctx, "SELECT COUNT(*) FROM reconcile_lines"); err != nil {
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
func (db *database) anchor(ctx context.Context, d Day, check bool) (time.Duration, error) {
	if err := db.exec(ctx, "DROP TABLE IF EXISTS "+joinTable); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := db.exec(ctx, joinSQL); err != nil {
		return 0, err
	}
	took := time.Since(start)
	if check {
		if err := db.checkJoin(ctx, d); err != nil {
			return 0, err
		}
	}
	return took, nil
}

func (t Timing) ratio() float64 { return float64(t.Total) / float64(t.Join) }

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000) }
