package loadtest

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// pgURL is the PostgreSQL the tests use; they fail without one.
func pgURL(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("MULTIPOS_TEST_PG")
	if dsn == "" {
		t.Fatal("MULTIPOS_TEST_PG is not set: start the test cluster with\n\texport MULTIPOS_TEST_PG=$(scripts/need-postgres)")
	}
	return dsn
}

func checkResult(t *testing.T, r Result, engine string, terminals int) {
	t.Helper()
	t.Logf("%s: %+v", engine, r)
	if r.Engine != engine || r.Terminals != terminals {
		t.Errorf("engine %q with %d terminals, want %q with %d", r.Engine, r.Terminals, engine, terminals)
	}
	if r.Errors != 0 {
		t.Errorf("%d errors; first: %s", r.Errors, r.FirstError)
	}
	if r.Sales <= 0 || r.Wallet <= 0 || r.Card <= 0 || r.Wallet+r.Card != r.Sales {
		t.Errorf("sales %d = wallet %d + card %d: want both kinds", r.Sales, r.Wallet, r.Card)
	}
	if r.P50 <= 0 || r.P99 < r.P50 || r.Max < r.P99 {
		t.Errorf("latencies p50 %s, p99 %s, max %s: want 0 < p50 ≤ p99 ≤ max", r.P50, r.P99, r.Max)
	}
	if want := float64(r.Sales) / r.Elapsed.Seconds(); r.TPS != want {
		t.Errorf("TPS %.2f, want %.2f", r.TPS, want)
	}
}

func TestRun(t *testing.T) {
	pg := pgURL(t)
	for _, tc := range []struct{ engine, dsn string }{{"sqlite", ""}, {"postgres", pg}} {
		t.Run(tc.engine, func(t *testing.T) {
			r, err := Run(t.Context(), Options{DSN: tc.dsn, Terminals: 3, Duration: time.Second, Warmup: 200 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, r, tc.engine, 3)
		})
	}
}

func TestRunOnlyOneKind(t *testing.T) {
	for _, tc := range []struct {
		share        int
		wallet, card bool
	}{{-1, true, false}, {100, false, true}} {
		r, err := Run(t.Context(), Options{Terminals: 1, Duration: 300 * time.Millisecond, Warmup: -1, CardShare: tc.share})
		if err != nil {
			t.Fatal(err)
		}
		if r.Errors != 0 || (r.Wallet > 0) != tc.wallet || (r.Card > 0) != tc.card {
			t.Errorf("card share %d: %+v", tc.share, r)
		}
	}
}

func TestRunRefusesBadOptions(t *testing.T) {
	existing := t.TempDir() + "/old.db"
	if err := os.WriteFile(existing, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, o := range []Options{
		{Terminals: 0, Duration: time.Second},
		{Terminals: 1},
		{Terminals: 1, Duration: time.Second, CardShare: 101},
		{Terminals: 1, Duration: time.Second, DSN: existing},
	} {
		if _, err := Run(t.Context(), o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}

func TestRunStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := Run(ctx, Options{Terminals: 2, Duration: time.Minute}); err == nil {
		t.Fatal("no error from a cancelled run")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("stopping took %s", d)
	}
}

func TestPgbench(t *testing.T) {
	pb, err := RunPgbench(t.Context(), pgURL(t), 2, 1, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", pb)
	if pb.TPS <= 0 || pb.Latency <= 0 || pb.Clients != 2 || pb.Scale != 1 || pb.Duration != 2*time.Second {
		t.Errorf("pgbench: %+v", pb)
	}
}

func TestParsePgbench(t *testing.T) {
	out := `pgbench (15.18 (Debian 15.18-0+deb12u1))
transaction type: <builtin: TPC-B (sort of)>
number of transactions actually processed: 1485
latency average = 2.689 ms
initial connection time = 10.900 ms
tps = 743.707409 (without initial connection time)
`
	pb, err := parsePgbench(out)
	if err != nil || pb.TPS != 743.707409 || pb.Latency != 2689*time.Microsecond {
		t.Errorf("parsePgbench = %+v, %v", pb, err)
	}
	if _, err := parsePgbench("connection refused"); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("no tps line: %v", err)
	}
}

func TestMarkdown(t *testing.T) {
	results := []Result{
		{Engine: "sqlite", Terminals: 100, Sales: 5000, Wallet: 2500, Card: 2500, Elapsed: 10 * time.Second,
			TPS: 500, P50: 12300 * time.Microsecond, P99: 150 * time.Millisecond, Max: 200 * time.Millisecond},
		{Engine: "postgres", Terminals: 100, Sales: 7000, Wallet: 3500, Card: 3499, Errors: 1, FirstError: "boom",
			Elapsed: 10 * time.Second, TPS: 700, P50: 8 * time.Millisecond, P99: 45600 * time.Microsecond, Max: 90 * time.Millisecond},
		{Engine: "postgres", Terminals: 1000, Sales: 6000, Elapsed: 10 * time.Second, TPS: 600},
		{Engine: "postgres", Terminals: 100, Pace: time.Second, Sales: 1000, Elapsed: 10 * time.Second, TPS: 100,
			P50: 4 * time.Millisecond, P99: 20 * time.Millisecond, Max: 30 * time.Millisecond},
	}
	var b strings.Builder
	Markdown(&b, results, &Pgbench{TPS: 1200, Clients: 8, Scale: 10, Duration: 10 * time.Second, Latency: 6500 * time.Microsecond})
	out := b.String()
	t.Log("\n" + out)
	for _, want := range []string{
		"| sqlite | 100 | back to back | 5000 | 2500 | 2500 | 0 | 500.0 | 12.3 | 150.0 | 200.0 |",
		"| postgres | 100 | back to back | 7000 | 3500 | 3499 | 1 | 700.0 | 8.0 | 45.6 | 90.0 |",
		"| postgres | 100 | every 1s | 1000 | 0 | 0 | 0 | 100.0 | 4.0 | 20.0 | 30.0 |",
		"**1200.0 tps**", "latency average 6.5 ms",
		"postgres, 100 terminals: 1 errors; first: boom",
		"PASS: PostgreSQL sales/s ≥ half of pgbench's TPC-B tps: best 700.0 (100 terminals) against 600.0",
		"FAIL: p99 < 100.0 ms at 100 terminals selling back to back, sqlite: 150.0 ms",
		"PASS: p99 < 100.0 ms at 100 terminals selling back to back, postgres: 45.6 ms",
		"PASS: p99 < 100.0 ms at 100 terminals selling every 1s, postgres: 20.0 ms",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
	b.Reset()
	Markdown(&b, results[:1], nil)
	if !strings.Contains(b.String(), "not measured: PostgreSQL sales/s") {
		t.Errorf("without pgbench:\n%s", b.String())
	}
}
