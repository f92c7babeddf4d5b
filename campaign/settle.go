package campaign

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/multipos/multipos/api"
	alipaysb "github.com/multipos/multipos/sandbox/alipay"
	wechatsb "github.com/multipos/multipos/sandbox/wechat"
	"github.com/multipos/multipos/server/store"
)

// The server's own constants that bound when it resolves what is open
// (package server, unexported): kept in step with it by hand.
const (
	serverCreatedGrace = 10 * time.Second // how long past the channel timeout a crash may leave a transaction CREATED
	serverUnknownRetry = 5 * time.Second  // first sweep of an unknown outcome, and the back-off's unit
	serverConfirmGrace = 15 * time.Second // the sweeper steps in after a code's confirmation window
)

// deadline is when a transaction must be final: when posserver's sweeper
// must have resolved it even if the server died meanwhile (its lease runs
// out) and the channel refused a couple of tries (the back-off), plus the
// time a posserver was down since it was made.
func (w *World) deadline(tx store.JournalTx, adjustment bool) time.Time {
	t := w.cfg.Timing
	ct := t.ChannelTimeout
	lease := 2*ct + serverCreatedGrace
	retries := serverUnknownRetry * (1 + 2 + 4) // three sweeps the channel refused
	slack := 2*ct + 3*t.SweepInterval + 5*time.Second
	end := tx.CreatedAt.Add(ct + serverCreatedGrace + lease)
	switch {
	case adjustment || tx.Kind == api.KindCardSale:
		end = end.Add(retries)
	case tx.Kind == api.KindWalletQR:
		end = maxTime(end, tx.CreatedAt.Add(t.QRTTL+lease)).Add(retries)
	case tx.Kind == api.KindWalletBarcode:
		end = maxTime(end, tx.CreatedAt.Add(t.confirmWindow()+serverConfirmGrace+lease)).Add(retries)
	}
	end = end.Add(slack + sweepsBeyond(tx.Sweeps))
	return end.Add(w.outages.overlap(tx.CreatedAt, end))
}

// sweepsBeyond is more time for a transaction the sweeper keeps trying
// past the three tries a deadline allows (the channel kept refusing, as
// faults of several runs at once can make it): the back-off of two more
// tries at most, so that one it tries forever is still found stuck.
func sweepsBeyond(sweeps int) time.Duration {
	var d time.Duration
	for i := 3; i < min(sweeps, 5); i++ {
		d += min(serverUnknownRetry<<i, 5*time.Minute)
	}
	return d
}

// settle waits until every transaction of the run is final or overdue,
// and returns the journal of its terminals as it then stands.
func (w *World) settle(ctx context.Context, r *runState) (store.Snapshot, error) {
	ids := r.terminalIDs()
	for {
		snap, err := w.journal.Snapshot(ctx, ids)
		if err != nil {
			return snap, err
		}
		now, open := time.Now(), 0
		for _, tx := range snap.Transactions {
			if !tx.CreatedAt.Before(r.start) && !tx.State.Final() && now.Before(w.deadline(tx, false)) {
				open++
			}
		}
		for _, a := range snap.Adjustments {
			if !a.CreatedAt.Before(r.start) && !a.State.Final() && now.Before(w.deadline(a, true)) {
				open++
			}
		}
		if open == 0 {
			return snap, nil
		}
		if !sleep(ctx, 300*time.Millisecond) {
			return snap, ctx.Err()
		}
	}
}

func (r *runState) terminalIDs() []string {
	var ids []string
	for _, t := range r.terms {
		ids = append(ids, t.id)
	}
	return ids
}

// books reads the channels' books for a run: the bank's ledger of its
// terminals and the wallets' orders of its transactions.
func (w *World) books(ctx context.Context, ids []string, snap store.Snapshot, since time.Time) (Books, error) {
	b := Books{Journal: snap, Wallets: map[string]WalletBook{}}
	var err error
	if b.Bank, err = w.ctl.ledger(ctx, ids); err != nil {
		return b, err
	}
	for _, tx := range snap.Transactions {
		if !tx.Channel.Wallet() || tx.CreatedAt.Before(since) || tx.OutTradeNo == "" {
			continue
		}
		wb := WalletBook{Channel: tx.Channel, OutTradeNo: tx.OutTradeNo}
		if tx.Channel == api.Alipay {
			t, found, err := w.ctl.alipayTrade(ctx, tx.OutTradeNo)
			if err != nil {
				return b, err
			}
			if found {
				wb = alipayBook(t)
			}
		} else {
			o, found, err := w.ctl.wechatOrder(ctx, tx.OutTradeNo)
			if err != nil {
				return b, err
			}
			if found {
				wb = wechatBook(o)
			}
		}
		b.Wallets[walletKey(tx.Channel, tx.OutTradeNo)] = wb
	}
	return b, nil
}

// allBooks reads every book whole, for the final check: the journal of
// every terminal, every wallet order, the whole ledger.
func (w *World) allBooks(ctx context.Context) (Books, error) {
	var ids []string
	for _, t := range w.pool.all {
		ids = append(ids, t.id)
	}
	snap, err := w.journal.Snapshot(ctx, ids)
	if err != nil {
		return Books{}, err
	}
	b := Books{Journal: snap, Wallets: map[string]WalletBook{}, AllWallets: true}
	if b.Bank, err = w.ctl.ledger(ctx, ids); err != nil {
		return b, err
	}
	trades, err := w.ctl.alipayTrades(ctx)
	if err != nil {
		return b, err
	}
	for _, t := range trades {
		b.Wallets[walletKey(api.Alipay, t.OutTradeNo)] = alipayBook(t)
	}
	orders, err := w.ctl.wechatOrders(ctx, nil)
	if err != nil {
		return b, err
	}
	for _, o := range orders {
		b.Wallets[walletKey(api.WeChat, o.OutTradeNo)] = wechatBook(o)
	}
	return b, nil
}

func alipayBook(t alipaysb.Trade) WalletBook {
	b := WalletBook{Channel: api.Alipay, OutTradeNo: t.OutTradeNo, TerminalID: t.TerminalID, Found: true, State: t.Status,
		Amount: int64(t.Amount), Refunded: int64(t.Refunded), Paid: t.Paid != ""}
	if t.Kind == "cancelled" {
		b.State = "cancelled before it existed"
	}
	if b.Paid {
		b.Kept = b.Amount - b.Refunded
	}
	return b
}

func wechatBook(o wechatsb.OrderInfo) WalletBook {
	b := WalletBook{Channel: api.WeChat, OutTradeNo: o.OutTradeNo, Found: true, State: o.TradeState,
		Amount: o.Total, Refunded: o.Refunded, Paid: !o.SuccessTime.IsZero()}
	if b.Paid {
		b.Kept = b.Amount - b.Refunded
	}
	return b
}

// history is a transaction's state changes as the journal has them, for a
// failure report.
func (w *World) history(ctx context.Context, id string) string {
	h, err := w.journal.History(ctx, id)
	if err != nil || len(h) == 0 {
		return ""
	}
	var parts []string
	for _, t := range h {
		s := fmt.Sprintf("%s→%s by %s", orNone(string(t.From)), t.To, t.Actor)
		if t.Reason != "" {
			s += " (" + t.Reason + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

func orNone(s string) string {
	if s == "" {
		return "·"
	}
	return s
}
