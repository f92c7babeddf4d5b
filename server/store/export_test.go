package store

// HoldGroup makes the group-commit workers wait, each with the job it took,
// until release is called, so that a test can queue statements into one
// batch.
func (s *Store) HoldGroup() (release func()) {
	s.group.hold.Lock()
	return s.group.hold.Unlock
}

// GroupStats returns how many batches and statements the group-commit
// workers ran, and how many statements ran again on their own.
func (s *Store) GroupStats() (batches, statements, alone int64) {
	g := &s.group.stats
	return g.batches.Load(), g.statements.Load(), g.alone.Load()
}

// GroupQueued returns how many statements wait in the group-commit queue.
func (s *Store) GroupQueued() int { return len(s.group.jobs) }

// GroupWorkers is how many statements the held workers keep out of the queue.
const GroupWorkers = groupWorkers

// Rebind is a query with ? in the dialect's own form, as the store runs it.
func Rebind(d Dialect, query string) string {
	return (&Store{dialect: d, rebound: map[string]string{}}).q(query)
}
