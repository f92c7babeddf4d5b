package store

import (
	"context"
	"fmt"
	"time"
)

// Listen calls changed with the id of every transaction that changes in
// any server instance sharing this PostgreSQL database, until ctx ends. It
// reconnects after a lost connection, telling failed why (when not nil) and
// calling resync (when not nil), since changes made while it was away were
// missed. With SQLite there is only one instance, so it just waits for ctx.
func (s *Store) Listen(ctx context.Context, changed func(id string), resync func(), failed func(error)) error {
	if s.dialect != Postgres {
		<-ctx.Done()
		return nil
	}
	backoff := 100 * time.Millisecond
	first := true
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, changed, func() {
			backoff = 100 * time.Millisecond
			if !first && resync != nil {
				resync()
			}
			first = false
		})
		if ctx.Err() != nil {
			return nil
		}
		if failed != nil {
			failed(err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	return nil
}

func (s *Store) listenOnce(ctx context.Context, changed func(string), connected func()) error {
	if err := s.pg.Listen(ctx, s.dsn, changeChannel, connected, changed); err != nil {
		return fmt.Errorf("store: listen: %w", err)
	}
	return nil
}
