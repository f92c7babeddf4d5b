package demo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// KeepRuns is how many earlier runs' folders a demo keeps under the user's
// state folder (demo/<start time>), besides its own: each holds a database,
// receipts and a log of a few hundred kilobytes, and a trainer looks back
// at the last few, not at every run since the station was installed.
const KeepRuns = 5

// runLayout is how a run's folder is named: its start time.
const runLayout = "20060102-150405.000"

// runLock is the file a running demo holds a lock on in its folder, so
// that another demo started meanwhile never removes it, however long it
// has been running.
const runLock = "running.lock"

// holdRun locks e.Dir as a running demo's folder until Close.
func (e *Env) holdRun() error {
	f, err := os.OpenFile(filepath.Join(e.Dir, runLock), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("demo run lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return fmt.Errorf("demo run lock %s: %w", f.Name(), err)
	}
	e.runLock = f
	return nil
}

// running tells whether a demo holds dir's run lock now.
func running(dir string) bool {
	f, err := os.Open(filepath.Join(dir, runLock))
	if err != nil {
		return false // no lock file: a run from before locks, or not started
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	return errors.Is(err, syscall.EWOULDBLOCK)
}

// pruneRuns removes the folders of earlier runs beside e.Dir but the keep
// newest (by the start time they are named after), and but any a demo
// still runs in. It never touches e.Dir, nor anything not named as a run's
// folder is; what it cannot remove it logs and leaves.
func (e *Env) pruneRuns(keep int) {
	parent := filepath.Dir(e.Dir)
	ents, err := os.ReadDir(parent)
	if err != nil {
		e.Log.Warn("demo: cannot list earlier runs", "dir", parent, "err", err)
		return
	}
	type run struct {
		path    string
		started time.Time
	}
	var runs []run
	for _, ent := range ents {
		path := filepath.Join(parent, ent.Name())
		if !ent.IsDir() || path == e.Dir {
			continue
		}
		if at, err := time.Parse(runLayout, ent.Name()); err == nil {
			runs = append(runs, run{path, at})
		}
	}
	slices.SortFunc(runs, func(a, b run) int { return b.started.Compare(a.started) })
	for _, r := range runs[min(keep, len(runs)):] {
		if running(r.path) {
			continue
		}
		if err := os.RemoveAll(r.path); err != nil {
			e.Log.Warn("demo: cannot remove an earlier run's folder", "dir", r.path, "err", err)
			continue
		}
		e.Log.Info("demo: removed an earlier run's folder", "dir", r.path)
	}
}
