package server

import "sync"

// hub wakes long-polls when an order changes. A waiter subscribes before it
// reads the order, so a change between the read and the wait is not missed.
// It is in-process: with several server instances on one database this
// becomes PostgreSQL LISTEN/NOTIFY.
type hub struct {
	mu   sync.Mutex
	subs map[string]*signal
}

type signal struct {
	c chan struct{} // closed on the next change
	n int           // subscribers still holding c
}

func newHub() *hub { return &hub{subs: map[string]*signal{}} }

// subscribe returns a channel closed at the order's next change, and a
// function to call when no longer waiting.
func (h *hub) subscribe(id string) (<-chan struct{}, func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.subs[id]
	if s == nil {
		s = &signal{c: make(chan struct{})}
		h.subs[id] = s
	}
	s.n++
	var once sync.Once
	return s.c, func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			s.n--
			if s.n == 0 && h.subs[id] == s {
				delete(h.subs, id)
			}
		})
	}
}

// publish wakes everyone waiting on the order.
func (h *hub) publish(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s := h.subs[id]; s != nil {
		close(s.c)
		delete(h.subs, id)
	}
}

// waiting returns how many orders have waiters (for tests: no leak).
func (h *hub) waiting() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}
