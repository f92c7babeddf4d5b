package tui

// Why Ctrl+C is refused on a busy screen: each screen says what is true of
// it (what the cashier can do, or that there is nothing to do but wait),
// rather than one sentence for all.

// quitRefuser is a busy screen that says why quitting must wait.
type quitRefuser interface{ quitRefusal() text }

// quitRefused is the flash shown when Ctrl+C is refused.
func (m Model) quitRefused() string {
	if q, ok := m.active.(quitRefuser); ok {
		if t := q.quitRefusal(); !t.empty() {
			return t.in(m.c)
		}
	}
	return m.c.t("quit.busy")
}

func (s *processing) quitRefusal() text {
	if s.phase == procUnknown {
		return say("quit.unknown", s.c.Keys.Confirm.Help().Key, s.c.Keys.Cancel.Help().Key)
	}
	return say("quit.wait") // nothing cancels a card sale on its way
}

func (s *qrScreen) quitRefusal() text {
	switch s.phase {
	case qrCreating, qrShowing:
		return say("quit.esc", s.c.Keys.Cancel.Help().Key)
	case qrCloseFailed:
		return say("quit.retry", s.c.Keys.Cancel.Help().Key)
	}
	return say("quit.wait")
}

func (s *barcodeScreen) quitRefusal() text {
	switch s.phase {
	case bcConfirming:
		return say("quit.esc", s.c.Keys.Cancel.Help().Key)
	case bcCancelFail:
		return say("quit.retry", s.c.Keys.Cancel.Help().Key)
	}
	return say("quit.wait")
}

func (s *receiptScreen) quitRefusal() text { return say("quit.printing") }
