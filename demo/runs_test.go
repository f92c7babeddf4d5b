package demo

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// fakeRuns makes n earlier runs' folders under parent, the i-th modified i
// hours ago, and returns their names, newest first.
func fakeRuns(t *testing.T, parent string, n int) []string {
	t.Helper()
	var names []string
	for i := range n {
		at := time.Now().Add(-time.Duration(i+1) * time.Hour)
		name := at.Format(runLayout)
		path := filepath.Join(parent, name)
		if err := os.MkdirAll(filepath.Join(path, "receipts"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(path, "pos.log"), []byte("{}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, at, at); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	return names
}

func list(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// A demo run started by `pos --demo` keeps its own folder and the
// KeepRuns newest before it; older runs' folders go, and what is not a
// run's folder stays.
func TestStartKeepsTheLastRuns(t *testing.T) {
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	parent := filepath.Join(state, "multipos", "demo")
	old := fakeRuns(t, parent, KeepRuns+3)
	for _, other := range []string{"notes", "20260101-not-a-run"} {
		if err := os.Mkdir(filepath.Join(parent, other), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	env, err := Start(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	want := append(slices.Clone(old[:KeepRuns]), "notes", "20260101-not-a-run", filepath.Base(env.Dir))
	slices.Sort(want)
	if got := list(t, parent); !slices.Equal(got, want) {
		t.Fatalf("after a demo started, the demo folder holds\n%q\nwant\n%q", got, want)
	}
}

// The running demo's folder is never removed, even when older than the
// ones kept.
func TestPruneRunsSparesTheRunningOne(t *testing.T) {
	parent := t.TempDir()
	old := fakeRuns(t, parent, 4)
	running := filepath.Join(parent, old[3]) // the oldest
	e := &Env{Dir: running, Log: slog.New(slog.DiscardHandler)}
	e.pruneRuns(1)
	if got, want := list(t, parent), []string{old[3], old[0]}; !slices.Equal(got, want) {
		t.Fatalf("left %q, want %q", got, want)
	}
	e.pruneRuns(0)
	if got := list(t, parent); !slices.Equal(got, []string{old[3]}) {
		t.Fatalf("left %q, want only the running one", got)
	}
}

// A demo still running in an older folder (another window, started long
// ago) keeps it: its run lock is held.
func TestPruneRunsSparesAnotherRunningDemo(t *testing.T) {
	parent := t.TempDir()
	old := fakeRuns(t, parent, 4)
	other := &Env{Dir: filepath.Join(parent, old[3])} // the oldest, still running
	if err := other.holdRun(); err != nil {
		t.Fatal(err)
	}
	e := &Env{Dir: filepath.Join(parent, time.Now().Format(runLayout)), Log: slog.New(slog.DiscardHandler)}
	e.pruneRuns(1)
	if got, want := list(t, parent), []string{old[3], old[0]}; !slices.Equal(got, want) {
		t.Fatalf("left %q, want the newest and the running one %q", got, want)
	}
	if err := other.runLock.Close(); err != nil {
		t.Fatal(err)
	}
	e.pruneRuns(1)
	if got, want := list(t, parent), []string{old[0]}; !slices.Equal(got, want) {
		t.Fatalf("once it ended: left %q, want %q", got, want)
	}
}
