package spool

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/receipts"
)

func receipt(trace string, c receipts.Copy) receipts.Receipt {
	return receipts.Receipt{
		Lang: i18n.ZH, Copy: c, MerchantName: "演示商户", MerchantID: "898310048160001",
		TerminalID: "T0000001", Operator: "01", Channel: "card", Type: receipts.Sale, Amount: 8800,
		MaskedPAN: "621234******0001", AuthCode: "123456", RRN: "000000000001", Batch: "000001",
		Trace: trace, Time: time.Date(2026, 11, 25, 16, 54, 7, 0, time.FixedZone("CST", 8*3600)),
	}
}

func open(t testing.TB, dir string, opts Options) *Spool {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func add(t testing.TB, s *Spool, r receipts.Receipt) Job {
	t.Helper()
	j, err := s.Add(r)
	if err != nil {
		t.Fatalf("add: %v", err)
	}
	return j
}

func ids(jobs []Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func TestRestartKeepsQueue(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	var want []Job
	for _, tr := range []string{"000001", "000002", "000003"} {
		want = append(want, add(t, s, receipt(tr, receipts.MerchantCopy)))
	}
	// Amounts the yuan-text form of money.Fen cannot read back.
	r := receipt("000004", receipts.CustomerCopy)
	r.Amount = -1234
	want = append(want, add(t, s, r))
	r.Trace, r.Amount = "000005", money.Max+1
	want = append(want, add(t, s, r))
	f, err := s.Failed(want[1].ID, errors.New("printer out of paper"))
	if err != nil || f.Attempts != 1 {
		t.Fatalf("failed: %+v %v", f, err)
	}
	if f, _ = s.Failed(want[1].ID, errors.New("cover open")); f.Attempts != 2 {
		t.Fatalf("attempts after second failure: %d", f.Attempts)
	}
	want[1] = f
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(receipt("x", receipts.MerchantCopy)); !errors.Is(err, ErrClosed) {
		t.Errorf("add after close: %v", err)
	}

	s = open(t, dir, Options{})
	got := s.Pending()
	if len(got) != len(want) || s.Len() != len(want) {
		t.Fatalf("after restart %d jobs (Len %d), want %d", len(got), s.Len(), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Attempts != w.Attempts || g.LastError != w.LastError || !g.Queued.Equal(w.Queued) {
			t.Errorf("job %d: got %+v, want %+v", i, g, w)
		}
		if !g.Receipt.Time.Equal(w.Receipt.Time) {
			t.Errorf("job %d time: %v, want %v", i, g.Receipt.Time, w.Receipt.Time)
		}
		g.Receipt.Time, w.Receipt.Time = time.Time{}, time.Time{}
		if g.Receipt != w.Receipt {
			t.Errorf("job %d receipt:\n got %+v\nwant %+v", i, g.Receipt, w.Receipt)
		}
	}
	if got[1].LastError != "cover open" {
		t.Errorf("last error %q", got[1].LastError)
	}
	if n, ok := s.Next(); !ok || n.ID != want[0].ID {
		t.Errorf("next after restart: %v %v", n.ID, ok)
	}
	if bad := files(t, filepath.Join(dir, "bad")); len(bad) != 0 {
		t.Errorf("good files set aside: %v", bad)
	}
}

func TestDoneAndDrop(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	a := add(t, s, receipt("000001", receipts.MerchantCopy))
	b := add(t, s, receipt("000001", receipts.CustomerCopy))
	c := add(t, s, receipt("000002", receipts.MerchantCopy))

	// The oldest keeps failing while the later ones print.
	if _, err := s.Failed(a.ID, errors.New("jam")); err != nil {
		t.Fatal(err)
	}
	if err := s.Done(b.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Done(c.ID); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 1 {
		t.Fatalf("len %d after two Done", s.Len())
	}
	if err := s.Drop(a.ID); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 0 {
		t.Fatalf("len %d after Drop", s.Len())
	}
	if _, ok := s.Next(); ok {
		t.Error("Next on an empty queue")
	}
	if q := files(t, filepath.Join(dir, "queue")); len(q) != 0 {
		t.Errorf("queue dir still holds %v", q)
	}
	h := files(t, filepath.Join(dir, "history"))
	if want := []string{a.ID + ".json", b.ID + ".json", c.ID + ".json"}; strings.Join(h, ",") != strings.Join(want, ",") {
		t.Errorf("history dir %v, want %v", h, want)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "history", a.ID+".json"))
	if !bytes.Contains(data, []byte(`"outcome": "dropped"`)) || !bytes.Contains(data, []byte(`"last_error": "jam"`)) {
		t.Errorf("dropped job's history file:\n%s", data)
	}
	for _, err := range []error{s.Done(b.ID), s.Drop("nope")} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("finishing a job not queued: %v", err)
		}
	}
	if _, err := s.Failed(b.ID, errors.New("x")); !errors.Is(err, ErrNotFound) {
		t.Errorf("Failed on a finished job: %v", err)
	}
	// The dropped receipt can still be reprinted.
	if r, ok := s.ByTrace("000001"); !ok || r.Copy != receipts.CustomerCopy {
		t.Errorf("by trace after drop: %+v %v", r, ok)
	}
}

func TestLastAndByTrace(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	if _, ok := s.Last(); ok {
		t.Error("Last on an empty spool")
	}
	m := add(t, s, receipt("000001", receipts.MerchantCopy))
	c := add(t, s, receipt("000001", receipts.CustomerCopy))
	s.Done(m.ID)
	s.Done(c.ID)
	add(t, s, receipt("000002", receipts.MerchantCopy)) // queued, newest original
	re := receipt("000001", receipts.CustomerCopy)
	re.Reprint = true
	add(t, s, re) // queued, newest of all

	check := func(when string) {
		t.Helper()
		if r, ok := s.Last(); !ok || !r.Reprint || r.Trace != "000001" {
			t.Errorf("%s: Last = %+v %v, want the reprint", when, r, ok)
		}
		if r, ok := s.LastOriginal(); !ok || r.Reprint || r.Trace != "000002" {
			t.Errorf("%s: LastOriginal = %s reprint=%v %v, want 000002", when, r.Trace, r.Reprint, ok)
		}
		if r, ok := s.ByTrace("000001"); !ok || r.Reprint || r.Copy != receipts.CustomerCopy {
			t.Errorf("%s: ByTrace(000001) = copy %v reprint=%v %v, want the original customer copy", when, r.Copy, r.Reprint, ok)
		}
		if r, ok := s.ByTrace("000002"); !ok || r.Copy != receipts.MerchantCopy {
			t.Errorf("%s: ByTrace(000002) = %+v %v", when, r, ok)
		}
		for _, tr := range []string{"000003", ""} {
			if _, ok := s.ByTrace(tr); ok {
				t.Errorf("%s: ByTrace(%q) found something", when, tr)
			}
		}
	}
	check("before restart")
	s.Close()
	s = open(t, dir, Options{})
	check("after restart")

	// With everything in history the newest still wins by Add order, not by
	// the order jobs finished in.
	p := s.Pending()
	s.Done(p[1].ID)
	s.Done(p[0].ID)
	check("all in history")

	// An old job stuck in the queue is not newer than what printed after it.
	s = open(t, t.TempDir(), Options{})
	add(t, s, receipt("000010", receipts.CustomerCopy))
	later := add(t, s, receipt("000011", receipts.CustomerCopy))
	s.Done(later.ID)
	if r, ok := s.LastOriginal(); !ok || r.Trace != "000011" {
		t.Errorf("stuck old job: LastOriginal = %q %v, want 000011", r.Trace, ok)
	}
}

func TestHistoryPrunedAndIDsNeverRepeat(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{Keep: 2})
	seen := map[string]bool{}
	var last Job
	for i := 1; i <= 5; i++ {
		last = add(t, s, receipt(fmt.Sprintf("%06d", i), receipts.CustomerCopy))
		seen[last.ID] = true
		if err := s.Done(last.ID); err != nil {
			t.Fatal(err)
		}
	}
	h := files(t, filepath.Join(dir, "history"))
	if len(h) != 2 || h[1] != last.ID+".json" {
		t.Fatalf("history after pruning to 2: %v", h)
	}
	if _, ok := s.ByTrace("000003"); ok {
		t.Error("pruned receipt still found")
	}
	if _, ok := s.ByTrace("000004"); !ok {
		t.Error("kept receipt not found")
	}

	// Restart with an empty queue and a pruned history, twice.
	for round := range 2 {
		s.Close()
		s = open(t, dir, Options{Keep: 2})
		if s.Len() != 0 {
			t.Fatalf("queue not empty: %v", ids(s.Pending()))
		}
		j := add(t, s, receipt("x", receipts.CustomerCopy))
		if seen[j.ID] || j.ID <= last.ID {
			t.Fatalf("round %d: ID %s repeats or sorts before %s", round, j.ID, last.ID)
		}
		seen[j.ID] = true
		last = j
		s.Done(j.ID)
	}
	if h := files(t, filepath.Join(dir, "history")); len(h) != 2 {
		t.Errorf("history grew past Keep across restarts: %v", h)
	}
}

func TestOpenSurvivesDebris(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	a := add(t, s, receipt("000001", receipts.MerchantCopy))
	b := add(t, s, receipt("000001", receipts.CustomerCopy))
	s.Close()

	q := filepath.Join(dir, "queue")
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(q, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("000000000003-20261125T085407Z.json.123.tmp", `{"version":1,"id":"0000`)  // torn write
	write("000000000099-20261125T085407Z.json", `{"version":1,"id":"000000000099-`) // corrupt
	future := strings.Replace(mustRead(t, filepath.Join(q, a.ID+".json")), `"version": 1`, `"version": 2`, 1)
	write("000000000100-20261125T085407Z.json", strings.Replace(future, a.ID, "000000000100-20261125T085407Z", 1))
	write("README", "not a job") // someone else's file: left alone

	var logs bytes.Buffer
	s = open(t, dir, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if got := ids(s.Pending()); strings.Join(got, ",") != a.ID+","+b.ID {
		t.Errorf("pending after debris: %v", got)
	}
	if got := strings.Join(files(t, q), ","); got != a.ID+".json,"+b.ID+".json,README" {
		t.Errorf("queue dir: %s", got)
	}
	bad := files(t, filepath.Join(dir, "bad"))
	if len(bad) != 2 || bad[0] != "000000000099-20261125T085407Z.json" || bad[1] != "000000000100-20261125T085407Z.json" {
		t.Errorf("bad dir: %v", bad)
	}
	if n := strings.Count(logs.String(), "moved aside"); n != 2 || !strings.Contains(logs.String(), "format version 2") {
		t.Errorf("want two warnings, one naming the version:\n%s", logs.String())
	}
	// A second open is quiet, and the set-aside files, now only in bad/,
	// still hold IDs 99 and 100: the next job must not reuse them.
	s.Close()
	logs.Reset()
	s = open(t, dir, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if s.Len() != 2 || logs.Len() != 0 {
		t.Errorf("second open: len %d, logs %q", s.Len(), logs.String())
	}
	if j := add(t, s, receipt("000002", receipts.MerchantCopy)); !strings.HasPrefix(j.ID, "000000000101-") {
		t.Errorf("ID after set-aside files: %s", j.ID)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A crash between writing the history file and removing the queue file
// leaves both; the job was printed, so it must not come back.
func TestPrintedJobLeftInQueueIsNotReprinted(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	a := add(t, s, receipt("000001", receipts.MerchantCopy))
	b := add(t, s, receipt("000002", receipts.MerchantCopy))
	s.Done(a.ID)
	s.Close()
	leftover := strings.Replace(mustRead(t, filepath.Join(dir, "history", a.ID+".json")), `"outcome": "printed",`, "", 1)
	os.WriteFile(filepath.Join(dir, "queue", a.ID+".json"), []byte(leftover), 0o600)

	s = open(t, dir, Options{})
	if got := ids(s.Pending()); len(got) != 1 || got[0] != b.ID {
		t.Errorf("pending: %v, want only %s", got, b.ID)
	}
	if _, err := os.Stat(filepath.Join(dir, "queue", a.ID+".json")); !os.IsNotExist(err) {
		t.Errorf("queue copy of a printed job not removed: %v", err)
	}
}

func TestConcurrentAdd(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	const workers, each = 16, 8
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		got []string
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				j, err := s.Add(receipt(fmt.Sprintf("%02d%04d", w, i), receipts.CustomerCopy))
				if err != nil {
					t.Error(err)
					return
				}
				s.Pending() // readers alongside writers, for the race detector
				s.LastOriginal()
				mu.Lock()
				got = append(got, j.ID)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	uniq := map[string]bool{}
	for _, id := range got {
		uniq[id] = true
	}
	if len(uniq) != workers*each {
		t.Fatalf("%d unique IDs from %d adds", len(uniq), workers*each)
	}
	s.Close()
	s = open(t, dir, Options{})
	p := ids(s.Pending())
	sort.Strings(got)
	if strings.Join(p, ",") != strings.Join(got, ",") {
		t.Errorf("after reopen %d jobs, not the %d added in ID order", len(p), len(got))
	}
}

func TestChanged(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	wait := func(what string) {
		t.Helper()
		select {
		case <-s.Changed():
		case <-time.After(5 * time.Second):
			t.Fatalf("no signal after %s", what)
		}
	}
	select {
	case <-s.Changed():
		t.Fatal("signal from an empty spool")
	default:
	}
	// Several changes with nobody listening must not block, and coalesce.
	j := add(t, s, receipt("000001", receipts.MerchantCopy))
	add(t, s, receipt("000001", receipts.CustomerCopy))
	wait("add")
	select {
	case <-s.Changed():
		t.Fatal("signals did not coalesce")
	default:
	}
	s.Failed(j.ID, errors.New("paper"))
	wait("failed")
	s.Done(j.ID)
	wait("done")

	// A restart with work queued wakes the worker without an Add.
	dir := t.TempDir()
	s2 := open(t, dir, Options{})
	add(t, s2, receipt("000001", receipts.MerchantCopy))
	s2.Close()
	s = open(t, dir, Options{})
	wait("open with a queue")
}

func BenchmarkAdd(b *testing.B) {
	s := open(b, b.TempDir(), Options{Keep: 10})
	r := receipt("000001", receipts.CustomerCopy)
	for b.Loop() {
		if _, err := s.Add(r); err != nil {
			b.Fatal(err)
		}
	}
}
