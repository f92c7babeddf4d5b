package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	_ "github.com/multipos/multipos/server/store/postgres" // store.Open of postgres:// URLs
)

// PgbenchDB is the database of the cluster pgbench's tables go into.
const PgbenchDB = "pgbench"

// Pgbench is pgbench's TPC-B-like figure: the rate the cluster commits
// small write transactions at, the yardstick for the server's sales.
type Pgbench struct {
	TPS      float64
	Clients  int
	Scale    int
	Duration time.Duration
	Latency  time.Duration // average
}

// RunPgbench initialises pgbench's tables at scale in the database
// PgbenchDB of the cluster dsn names (creating the database if needed),
// then runs pgbench's default TPC-B-like script with clients connections
// for d. pgbench is taken from PATH, else from /usr/lib/postgresql/*/bin.
func RunPgbench(ctx context.Context, dsn string, clients, scale int, d time.Duration) (Pgbench, error) {
	if !isPostgres(dsn) {
		return Pgbench{}, errors.New("pgbench: a postgres:// URL is needed")
	}
	if clients < 1 || scale < 1 || d < time.Second {
		return Pgbench{}, fmt.Errorf("pgbench: %d clients, scale %d, %s: need at least 1, 1 and 1s", clients, scale, d)
	}
	bin, err := findPgbench()
	if err != nil {
		return Pgbench{}, err
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return Pgbench{}, fmt.Errorf("pgbench: PostgreSQL URL: %w", err)
	}
	if err := ensureDatabase(ctx, dsn, PgbenchDB); err != nil {
		return Pgbench{}, err
	}
	u.Path = "/" + PgbenchDB
	q := u.Query()
	q.Del("search_path") // a pgx run-time parameter; libpq refuses it in a URL
	u.RawQuery = q.Encode()
	target := u.String()

	if out, err := exec.CommandContext(ctx, bin, "-i", "-q", "-s", strconv.Itoa(scale), target).CombinedOutput(); err != nil {
		return Pgbench{}, fmt.Errorf("pgbench -i: %w\n%s", err, strings.TrimSpace(string(out)))
	}
	secs := int(math.Ceil(d.Seconds()))
	out, err := exec.CommandContext(ctx, bin, "-c", strconv.Itoa(clients), "-j", strconv.Itoa(min(clients, 2)),
		"-T", strconv.Itoa(secs), "-n", target).CombinedOutput()
	if err != nil {
		return Pgbench{}, fmt.Errorf("pgbench: %w\n%s", err, strings.TrimSpace(string(out)))
	}
	pb, err := parsePgbench(string(out))
	if err != nil {
		return Pgbench{}, err
	}
	pb.Clients, pb.Scale, pb.Duration = clients, scale, time.Duration(secs)*time.Second
	return pb, nil
}

var (
	tpsLine     = regexp.MustCompile(`(?m)^tps = ([0-9.]+)`)
	latencyLine = regexp.MustCompile(`(?m)^latency average = ([0-9.]+) ms`)
)

// parsePgbench reads the figures from pgbench's report.
func parsePgbench(out string) (Pgbench, error) {
	m := tpsLine.FindStringSubmatch(out)
	if m == nil {
		return Pgbench{}, fmt.Errorf("pgbench: no \"tps = …\" line in its report:\n%s", strings.TrimSpace(out))
	}
	var pb Pgbench
	var err error
	if pb.TPS, err = strconv.ParseFloat(m[1], 64); err != nil {
		return Pgbench{}, fmt.Errorf("pgbench: tps %q: %w", m[1], err)
	}
	if m := latencyLine.FindStringSubmatch(out); m != nil {
		if ms, err := strconv.ParseFloat(m[1], 64); err == nil {
			pb.Latency = time.Duration(ms * float64(time.Millisecond))
		}
	}
	return pb, nil
}

// findPgbench looks for pgbench on PATH, then in the newest Debian
// PostgreSQL installation.
func findPgbench() (string, error) {
	if p, err := exec.LookPath("pgbench"); err == nil {
		return p, nil
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench")
	version := func(p string) int {
		n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(p))))
		return n
	}
	slices.SortFunc(found, func(a, b string) int { return version(a) - version(b) })
	if len(found) == 0 {
		return "", errors.New("pgbench: not found on PATH nor in /usr/lib/postgresql/*/bin (Debian: apt-get install postgresql-client)")
	}
	return found[len(found)-1], nil
}

// ensureDatabase creates the database name in dsn's cluster unless it
// exists.
func ensureDatabase(ctx context.Context, dsn, name string) error {
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("pgbench: connect to PostgreSQL: %w", err)
	}
	defer c.Close(context.WithoutCancel(ctx))
	var n int
	err = c.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n)
	if err != nil {
		return fmt.Errorf("pgbench: look for database %s: %w", name, err)
	}
	if n > 0 {
		return nil
	}
	if _, err := c.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("pgbench: create database %s: %w", name, err)
	}
	return nil
}

// The bars the benchmark must clear.
const (
	BarShareOfPgbench = 0.5                    // PostgreSQL sales/s at least this share of pgbench's tps
	BarP99            = 100 * time.Millisecond // p99 below this …
	BarP99Terminals   = 100                    // … at this many terminals
)

// Markdown writes the results as a table, pgbench's figure, the errors
// seen, and the two bars checked: the best PostgreSQL sales/s against half
// of pgbench's tps, and each engine's p99 at BarP99Terminals terminals.
func Markdown(w io.Writer, results []Result, pg *Pgbench) {
	fmt.Fprintln(w, "| Engine | Terminals | Each sells | Sales | Wallet | Card | Errors | Sales/s | p50 (ms) | p99 (ms) | max (ms) |")
	fmt.Fprintln(w, "|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range results {
		fmt.Fprintf(w, "| %s | %d | %s | %d | %d | %d | %d | %.1f | %s | %s | %s |\n", r.Engine, r.Terminals, paceText(r.Pace),
			r.Sales, r.Wallet, r.Card, r.Errors, r.TPS, ms(r.P50), ms(r.P99), ms(r.Max))
	}
	fmt.Fprintln(w)
	if pg != nil {
		fmt.Fprintf(w, "pgbench TPC-B (sort of), scale %d, %d clients, %s: **%.1f tps** (latency average %s ms)\n\n",
			pg.Scale, pg.Clients, pg.Duration, pg.TPS, ms(pg.Latency))
	}
	errs := false
	for _, r := range results {
		if r.Errors > 0 {
			errs = true
			fmt.Fprintf(w, "- %s, %d terminals: %d errors; first: %s\n", r.Engine, r.Terminals, r.Errors, r.FirstError)
		}
	}
	if errs {
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "Bars:")
	var best *Result
	for i, r := range results {
		if r.Engine == "postgres" && (best == nil || r.TPS > best.TPS) {
			best = &results[i]
		}
	}
	switch {
	case pg == nil || best == nil:
		fmt.Fprintln(w, "- not measured: PostgreSQL sales/s ≥ half of pgbench's TPC-B tps (needs both figures)")
	default:
		need := pg.TPS * BarShareOfPgbench
		fmt.Fprintf(w, "- %s: PostgreSQL sales/s ≥ half of pgbench's TPC-B tps: best %.1f (%d terminals) against %.1f\n",
			passFail(best.TPS >= need), best.TPS, best.Terminals, need)
	}
	checked := false
	for _, r := range results {
		if r.Terminals != BarP99Terminals {
			continue
		}
		checked = true
		fmt.Fprintf(w, "- %s: p99 < %s ms at %d terminals selling %s, %s: %s ms\n", passFail(r.Sales > 0 && r.P99 < BarP99),
			ms(BarP99), BarP99Terminals, paceText(r.Pace), r.Engine, ms(r.P99))
	}
	if !checked {
		fmt.Fprintf(w, "- not measured: p99 < %s ms at %d terminals (no run with %d terminals)\n", ms(BarP99), BarP99Terminals, BarP99Terminals)
	}
}

// paceText says how often each terminal starts a sale.
func paceText(pace time.Duration) string {
	if pace <= 0 {
		return "back to back"
	}
	return "every " + pace.String()
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// ms formats a duration in milliseconds with one decimal.
func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64)
}
