package posclient

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/multipos/multipos/api"
)

func TestTracesPersist(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "trace")
	tr, err := OpenTraces(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		got, err := tr.Next()
		if want := fmt.Sprintf("%06d", i); err != nil || got != want {
			t.Fatalf("Next = %q, %v; want %s", got, err, want)
		}
	}
	b, _ := os.ReadFile(path)
	if string(b) != "000003\n" {
		t.Fatalf("file holds %q", b)
	}
	tr, err = OpenTraces(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := tr.Next(); got != "000004" {
		t.Fatalf("after reopen: %s", got)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".trace.*"))
	if len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

func TestTracesWrap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trace")
	if err := os.WriteFile(path, []byte("999998\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tr, err := OpenTraces(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"999999", "000001", "000002"} {
		if got, err := tr.Next(); err != nil || got != want {
			t.Fatalf("Next = %q, %v; want %s", got, err, want)
		}
	}
}

func TestTracesRefuseGarbage(t *testing.T) {
	for _, content := range []string{"abc", "1234567", "12", "-00001"} {
		path := filepath.Join(t.TempDir(), "trace")
		os.WriteFile(path, []byte(content), 0o600)
		if _, err := OpenTraces(path); err == nil {
			t.Errorf("%q accepted", content)
		}
	}
}

func TestTracesConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trace")
	tr, err := OpenTraces(path)
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen = map[string]bool{}
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				s, err := tr.Next()
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[s] {
					t.Errorf("trace %s given twice", s)
				}
				seen[s] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 200 {
		t.Fatalf("%d traces", len(seen))
	}
	b, _ := os.ReadFile(path)
	if string(b) != "000200\n" {
		t.Fatalf("file holds %q", b)
	}
}

// The server is the source of truth: an answer's batch and next trace
// move the counter forward (never back within a batch) and restart it in
// a new batch; the file keeps both.
func TestTracesSync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trace")
	tr, err := OpenTraces(path)
	if err != nil {
		t.Fatal(err)
	}
	step := func(batch, next, want string) {
		t.Helper()
		if err := tr.Sync(batch, next); err != nil {
			t.Fatalf("Sync(%s, %s): %v", batch, next, err)
		}
		if got, err := tr.Next(); err != nil || got != want {
			t.Fatalf("after Sync(%s, %s): Next = %q, %v; want %s", batch, next, got, err, want)
		}
	}
	step("000001", "000120", "000120") // a wiped folder learns where the batch is
	step("000001", "000005", "000121") // an older answer does not move it back
	step("000002", "000001", "000001") // a new batch restarts it
	if b, _ := os.ReadFile(path); string(b) != "000001 000002\n" {
		t.Fatalf("file holds %q", b)
	}
	again, err := OpenTraces(path)
	if err != nil || again.Batch() != "000002" {
		t.Fatalf("reopened: batch %q, %v", again.Batch(), err)
	}
	for _, bad := range [][2]string{{"1", "000002"}, {"000001", "x"}, {"000001", "000000"}} {
		if err := tr.Sync(bad[0], bad[1]); err == nil {
			t.Errorf("Sync(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

// WithTrace sends under the given trace and request id (a resend), or
// under the counter's next; a trace the server says is used goes again
// under a new trace and request id, a bounded number of times.
func TestWithTrace(t *testing.T) {
	tr, err := OpenTraces(filepath.Join(t.TempDir(), "trace"))
	if err != nil {
		t.Fatal(err)
	}
	used := &api.Error{Status: 409, Code: api.CodeTraceUsed}
	var sent [][2]string
	send := func(fail int) func(string, string) error {
		return func(trace, rid string) error {
			sent = append(sent, [2]string{trace, rid})
			if len(sent) <= fail {
				return fmt.Errorf("POST: %w", used)
			}
			return nil
		}
	}
	trace, rid, err := WithTrace(tr, "000042", "resend-id", send(0))
	if err != nil || trace != "000042" || rid != "resend-id" || len(sent) != 1 {
		t.Fatalf("a resend: %s %s %v, sent %v", trace, rid, err, sent)
	}
	sent = nil
	trace, rid, err = WithTrace(tr, "", "", send(2))
	if err != nil || len(sent) != 3 || trace != sent[2][0] || rid != sent[2][1] || sent[0][1] == sent[1][1] || sent[0][0] == sent[1][0] {
		t.Fatalf("after two used traces: %s %s %v, sent %v", trace, rid, err, sent)
	}
	sent = nil
	if _, _, err = WithTrace(tr, "", "", send(100)); !IsTraceUsed(err) || len(sent) != traceTries {
		t.Fatalf("every trace used: %v after %d sends", err, len(sent))
	}
}
