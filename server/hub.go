package server

import (
	"sync"

	"github.com/multipos/multipos/api"
)

// hub wakes long-polls when an order changes. A waiter subscribes before it
// reads the order, so a change between the read and the wait is not missed.
// A change made here hands the waiters the changed order, which spares each
// a read; one heard from another instance (LISTEN) only wakes them to read.
//
// It also remembers the orders most recently changed here. Such an order is
// one the database held at some point: versions only rise and final states
// never change, so it can answer a long-poll waiting for a version below
// its own, and it is a fair first guess for a compare-and-set (a
// notification), which re-reads when it lost. Neither then needs a read
// first.
type hub struct {
	mu     sync.Mutex
	subs   map[string]*signal
	recent map[string]api.Order
	byOTN  map[otnKey]string // (channel, out_trade_no) → order id, for those in recent
	ring   []string          // recent's ids, oldest overwritten first
	next   int
}

type otnKey struct{ channel, outTradeNo string }

// recentOrders is how many changed orders the hub remembers: minutes of a
// busy chain's orders, a few MB.
const recentOrders = 8192

type signal struct {
	c     chan struct{} // closed on the next change
	n     int           // subscribers still holding c
	order *api.Order    // the order after the change, when known; set before c is closed
}

func newHub() *hub {
	return &hub{subs: map[string]*signal{}, recent: map[string]api.Order{}, byOTN: map[otnKey]string{},
		ring: make([]string, recentOrders)}
}

// remember keeps o unless a later version of it is kept already (two
// changes of one order may publish out of order).
func (h *hub) remember(o api.Order) {
	if prev, ok := h.recent[o.ID]; ok {
		if prev.Version < o.Version {
			h.recent[o.ID] = o
		}
		return
	}
	if old := h.ring[h.next]; old != "" {
		h.forget(old)
	}
	h.ring[h.next] = o.ID
	h.next = (h.next + 1) % len(h.ring)
	h.recent[o.ID] = o
	if o.OutTradeNo != "" {
		h.byOTN[otnKey{string(o.Channel), o.OutTradeNo}] = o.ID
	}
}

// forget drops an order from memory (its ring slot is reused in turn).
func (h *hub) forget(id string) {
	if x, ok := h.recent[id]; ok {
		if x.OutTradeNo != "" {
			delete(h.byOTN, otnKey{string(x.Channel), x.OutTradeNo})
		}
		delete(h.recent, id)
	}
}

// known returns the order as last changed here, if it still remembers it.
func (h *hub) known(id string) (api.Order, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	o, ok := h.recent[id]
	return o, ok
}

// knownByOutTradeNo is known for a wallet order named by its out_trade_no.
func (h *hub) knownByOutTradeNo(ch api.Channel, outTradeNo string) (api.Order, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	o, ok := h.recent[h.byOTN[otnKey{string(ch), outTradeNo}]]
	return o, ok
}

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
	if o != nil {
		h.remember(*o)
	} else {
		// Changed elsewhere: what is remembered here is behind now.
		h.forget(id)
	}
	if s := h.subs[id]; s != nil {
		s.order = o
		close(s.c)
		delete(h.subs, id)
	}
}

// publishAll wakes every waiter (after missed changes: they re-read) and
// forgets every order.
func (h *hub) publishAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	clear(h.recent)
	clear(h.byOTN)
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
