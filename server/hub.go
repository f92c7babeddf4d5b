package server

import (
	"sync"

	"github.com/multipos/multipos/server/api"
)

// hub wakes long-polls when an order changes. A waiter subscribes before it
// reads the order, so a change between the read and the wait is not missed.
// A change made here hands the waiters the changed order, which spares each
// a read; one heard from another instance (LISTEN) only wakes them to read.
type hub struct {
	mu   sync.Mutex
	subs map[string]*signal
}

type signal struct {
	c     chan struct{} // closed on the next change
	n     int           // subscribers still holding c
	order *api.Order    // the order after the change, when known; set before c is closed
}

func newHub() *hub { return &hub{subs: map[string]*signal{}} }

// subscribe returns the signal of the order's next change, and a function
// to call when no longer waiting.
func (h *hub) subscribe(id string) (*signal, func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.subs[id]
	if s == nil {
		s = &signal{c: make(chan struct{})}
		h.subs[id] = s
	}
	s.n++
	var once sync.Once
	return s, func() {
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
func (h *hub) publish(id string) { h.wake(id, nil) }

// publishOrder wakes everyone waiting on the order and hands them o.
func (h *hub) publishOrder(o api.Order) { h.wake(o.ID, &o) }

func (h *hub) wake(id string, o *api.Order) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s := h.subs[id]; s != nil {
		s.order = o
		close(s.c)
		delete(h.subs, id)
	}
}

// publishAll wakes every waiter (after missed changes: they re-read).
func (h *hub) publishAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, s := range h.subs {
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
