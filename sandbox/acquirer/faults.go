package acquirer

import "time"

// DropNext makes the host process the next n requests (booking them if
// approved) and never answer them: the lost answer a reversal is for.
// A dropped 0800 still replaces the terminal's working keys, as a real host
// would, so the terminal's MACs fail (A0) until it signs on again.
func (h *Host) DropNext(n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.drop += n
	h.dropArm = h.arm()
}

// LoseNextReply is DropNext(1): the next request is booked and its answer lost.
func (h *Host) LoseNextReply() { h.DropNext(1) }

// DropNextReversals makes the host undo the next n reversals and never
// answer them, so the terminal must send them again.
func (h *Host) DropNextReversals(n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dropRev += n
	h.dropRevArm = h.arm()
}

// FailNextReversals makes the host answer the next n reversals with code
// (e.g. 96, system malfunction) without undoing anything: the
// terminal must take that as no reversal and send it again.
func (h *Host) FailNextReversals(n int, code string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failRev, h.failCode = n, code
	h.failRevArm = h.arm()
}

// Calls is how many financial requests (sales, voids, refunds, balance
// inquiries) with a valid MAC reached the host, repeats included.
func (h *Host) Calls() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls
}

// Reversals is how many reversals the host answered.
func (h *Host) Reversals() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reversals
}

// DelayNext delays the answer to the next request by d.
func (h *Host) DelayNext(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.delay = d
}
