package channels

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
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
