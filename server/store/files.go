package store

import (
	"fmt"

	"github.com/multipos/multipos/internal/privfile"
)

// sqliteCompanions are the files SQLite keeps beside a database. It
// creates them with the database file's own mode, so a private database
// has private companions; ones an older version left open are tightened.
var sqliteCompanions = []string{"-wal", "-shm", "-journal"}

// prepareSQLiteFile creates the database file 0600 before the driver opens
// it (the driver would create it 0644 less the umask), and tightens an
// existing database and its companions open to group or others. The
// journal holds card sales: nobody but the server's user may read it.
func prepareSQLiteFile(path string) error {
	if path == ":memory:" {
		return nil
	}
	if err := privfile.Ensure(path, nil); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	for _, suffix := range sqliteCompanions {
		if err := privfile.Tighten(path+suffix, nil); err != nil {
			return fmt.Errorf("store: %w", err)
		}
	}
	return nil
}
