package tui

// Why Ctrl+C is refused on a busy screen: each screen says what is true of
// it (what the cashier can do, or that there is nothing to do but wait),
// rather than one sentence for all.

// quitRefuser is a busy screen that says why quitting must wait.
type quitRefuser interface{ quitRefusal() text }

// quitRefused is the notice shown when Ctrl+C is refused.
func (m Model) quitRefused() text {
	if q, ok := m.router.active().(quitRefuser); ok {
		if t := q.quitRefusal(); !t.empty() {
			return t
		}
	}
	return say("quit.busy")
}

func (s *processing) quitRefusal() text {
	if s.phase == procUnknown {
		return say("quit.unknown", s.c.Keys.Confirm.Help().Key, s.c.Keys.Cancel.Help().Key)
	}
	return say("quit.wait") // nothing cancels a card sale on its way
}

// quitRefusal of the QR and payment-code screens: Cancel closes what is
// open, or tries the close again.
func (f *follower) quitRefusal() text {
	switch f.phase {
	case fCreating, fOpen:
		return say("quit.esc", f.c.Keys.Cancel.Help().Key)
	case fCloseFailed:
		return say("quit.retry", f.c.Keys.Cancel.Help().Key)
	}
	return say("quit.wait")
}

func (s *receiptScreen) quitRefusal() text { return say("quit.printing") }
