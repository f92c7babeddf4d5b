package wallet

import (
	"context"
	"fmt"
	"time"

	"github.com/multipos/multipos/server/connector"
)

// CustomerPay plays the customer scanning the code and paying on the phone: the
// trade becomes PAID, gets the wallet's transaction number, and the result
// is notified asynchronously.
func (w *Wallet) CustomerPay(ctx context.Context, outTradeNo string) error {
	return w.finish(ctx, outTradeNo, connector.WalletPaid)
}

// CustomerPaysOther plays a wallet's fault: the customer pays, but the
// wallet takes (and says so, in its notification and to queries) another
// amount than the order's.
func (w *Wallet) CustomerPaysOther(ctx context.Context, outTradeNo string, amount int64) error {
	w.mu.Lock()
	if t, ok := w.trades[outTradeNo]; ok {
		t.amount = amount
	}
	w.mu.Unlock()
	return w.finish(ctx, outTradeNo, connector.WalletPaid)
}

// Decline plays the customer refusing the payment on the phone: the trade
// becomes DECLINED and that is notified asynchronously.
func (w *Wallet) Decline(ctx context.Context, outTradeNo string) error {
	return w.finish(ctx, outTradeNo, connector.WalletDeclined)
}

func (w *Wallet) finish(ctx context.Context, outTradeNo string, to connector.WalletState) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	t, ok := w.trades[outTradeNo]
	if !ok {
		return fmt.Errorf("%s %s: %w", w.brand, outTradeNo, connector.ErrNotFound)
	}
	w.expire(t)
	switch t.state {
	case connector.WalletWaiting:
	case connector.WalletPaid:
		return fmt.Errorf("%s %s: %w", w.brand, outTradeNo, connector.ErrAlreadyPaid)
	case connector.WalletDeclined:
		return fmt.Errorf("%s %s: %w", w.brand, outTradeNo, ErrTradeDeclined)
	default:
		return fmt.Errorf("%s %s: %w", w.brand, outTradeNo, ErrTradeClosed)
	}
	now := w.opts.Now()
	t.state = to
	if to == connector.WalletPaid {
		w.seq++
		t.tradeNo = w.tradeNo(now, w.seq)
		t.paidAt = now
	}
	w.log.Info("customer acted", "out_trade_no", outTradeNo, "state", string(to), "trade_no", t.tradeNo, "amount", t.amount)
	w.notifyLocked(connector.Notification{Channel: string(w.brand), OutTradeNo: outTradeNo, TradeNo: t.tradeNo,
		State: to, Amount: t.amount, At: now})
	return nil
}

// tradeNo makes a 28-digit transaction number shaped like the wallet's own
// (Alipay: date + 2200…; WeChat: 4200… + date).
func (w *Wallet) tradeNo(now time.Time, seq int) string {
	day := now.Format("20060102")
	if w.brand == Alipay {
		return fmt.Sprintf("%s2200%016d", day, seq)
	}
	return fmt.Sprintf("4200%06d%s%010d", seq%1_000_000, day, seq)
}

// FailNext makes the next call of op fail with err before the wallet acts
// (e.g. connector.ErrUnknownOutcome for a request lost on the way).
func (w *Wallet) FailNext(op Op, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.faults[op] = append(w.faults[op], fault{err: err})
}

// LoseNextReply makes the next call of op take effect at the wallet and then
// answer ErrUnknownOutcome, as when the reply is lost on the way back.
func (w *Wallet) LoseNextReply(op Op) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.faults[op] = append(w.faults[op], fault{err: fmt.Errorf("reply lost: %w", connector.ErrUnknownOutcome), after: true})
}

// Calls returns how many times op was called.
func (w *Wallet) Calls(op Op) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls[op]
}

// HoldNotifications queues notifications instead of sending them, until
// ReleaseNotifications: a slow notification path, for races in tests.
func (w *Wallet) HoldNotifications() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.held = true
}

// ReleaseNotifications sends the queued notifications and stops holding.
func (w *Wallet) ReleaseNotifications() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.held = false
	for _, n := range w.queued {
		w.deliver(n)
	}
	w.queued = nil
}

// enter counts a call and takes its pending fault, if any. Called with w.mu held.
func (w *Wallet) enter(op Op) (fault, bool) {
	w.calls[op]++
	q := w.faults[op]
	if len(q) == 0 {
		return fault{}, false
	}
	w.faults[op] = q[1:]
	return q[0], true
}

// notifyLocked queues or sends a notification. Called with w.mu held.
func (w *Wallet) notifyLocked(n connector.Notification) {
	if w.held {
		w.queued = append(w.queued, n)
		return
	}
	w.deliver(n)
}

// deliver sends n in its own goroutine, retrying with doubling back-off
// until the notifier acknowledges it (nil) or Stop is called.
// Called with w.mu held.
func (w *Wallet) deliver(n connector.Notification) {
	if w.stopped {
		return
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		wait := w.opts.RetryMin
		for attempt := 1; ; attempt++ {
			w.mu.Lock()
			to := w.notifier
			w.mu.Unlock()
			var err error
			if to == nil {
				err = fmt.Errorf("no notifier set")
			} else {
				ctx, cancel := context.WithTimeout(w.ctx, 5*time.Second) // WeChat wants an answer within 5 s
				err = to.Notify(ctx, n)
				cancel()
			}
			if err == nil {
				return
			}
			w.log.Warn("notification not acknowledged", "out_trade_no", n.OutTradeNo, "attempt", attempt, "retry_in", wait, "err", err)
			select {
			case <-w.ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(2*wait, w.opts.RetryMax)
		}
	}()
}
