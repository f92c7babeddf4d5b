package demo

import (
	"os"
	"path/filepath"
	"slices"
	"time"
)

// KeepRuns is how many earlier runs' folders a demo keeps under the user's
// state folder (demo/<start time>), besides its own: each holds a database,
// receipts and a log of a few hundred kilobytes, and a trainer looks back
// at the last few, not at every run since the station was installed.
const KeepRuns = 5

// runLayout is how a run's folder is named: its start time.
const runLayout = "20060102-150405.000"

// pruneRuns removes the folders of earlier runs beside e.Dir but the keep
// newest (by modification time). It never touches e.Dir, nor anything not
// named as a run's folder is; what it cannot remove it logs and leaves.
func (e *Env) pruneRuns(keep int) {
	parent := filepath.Dir(e.Dir)
	ents, err := os.ReadDir(parent)
	if err != nil {
		e.Log.Warn("demo: cannot list earlier runs", "dir", parent, "err", err)
		return
	}
	type run struct {
		path string
		mod  time.Time
	}
	var runs []run
	for _, ent := range ents {
		path := filepath.Join(parent, ent.Name())
		if !ent.IsDir() || path == e.Dir {
			continue
		}
		if _, err := time.Parse(runLayout, ent.Name()); err != nil {
			continue
		}
		if info, err := ent.Info(); err == nil {
			runs = append(runs, run{path, info.ModTime()})
		}
	}
	slices.SortFunc(runs, func(a, b run) int { return b.mod.Compare(a.mod) })
	for _, r := range runs[min(keep, len(runs)):] {
		if err := os.RemoveAll(r.path); err != nil {
			e.Log.Warn("demo: cannot remove an earlier run's folder", "dir", r.path, "err", err)
			continue
		}
		e.Log.Info("demo: removed an earlier run's folder", "dir", r.path)
	}
}
