package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/paycode"
	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/store"
)

// ConfirmPolicy is how a code payment the customer must confirm on the
// phone is followed: a query every Every, Tries times, then a reversal.
type ConfirmPolicy struct {
	Every time.Duration
	Tries int
}

// DefaultConfirm is what the wallets prescribe: Alipay a query about every
// 3 s for up to 60 s, then cancel at once; WeChat every 5 s for up to 30 s,
// then reverse.
var DefaultConfirm = map[api.Channel]ConfirmPolicy{
	api.Alipay: {Every: 3 * time.Second, Tries: 20},
	api.WeChat: {Every: 5 * time.Second, Tries: 6},
}

// confirmGrace is how long after the confirmation window the sweeper steps
// in, should the instance following the payment have died.
const confirmGrace = 15 * time.Second

// barcodeWallet is the connector that takes payment codes for ch. A
// wallet the server has no connector for is refused as not set up.
func (s *Server) barcodeWallet(ch api.Channel) (connector.BarcodeWallet, error) {
	if err := s.notConnected(ch); err != nil {
		return nil, err
	}
	bw, ok := s.opts.Wallets[ch].(connector.BarcodeWallet)
	if !ok {
		return nil, channelError("%s takes no payment codes here", ch)
	}
	return bw, nil
}

// createBarcodeOrder is POST /v1/orders/barcode: the cashier scanned the
// payment code on the customer's phone (付款码).
func (s *Server) createBarcodeOrder(r *http.Request, t *terminal) (int, any, error) {
	return journaled(s, r, func(ctx context.Context, rid string, req api.CreateBarcodeOrder) (moneyCall, error) {
		if err := checkBarcodeOrder(req); err != nil {
			return moneyCall{}, err
		}
		bw, err := s.barcodeWallet(req.Channel)
		if err != nil {
			return moneyCall{}, err
		}
		now := s.now()
		// A new out_trade_no for every attempt, as both wallets require.
		o := api.Order{SaleID: req.SaleID, Trace: req.Trace, Channel: req.Channel, Kind: api.KindWalletBarcode,
			Amount: req.Amount, OutTradeNo: outTradeNo(t.ID, now.Format("20060102150405"), req.Trace)}
		hash := requestHash(string(req.Channel), strconv.FormatInt(req.Amount, 10), req.Subject, req.Trace, req.SaleID, req.AuthCode)
		call := s.orderCall(t, rid, o, hash, func(ctx context.Context, o api.Order) store.Change {
			return s.payCode(ctx, t, bw, o, req, now)
		})
		settle := call.send
		call.send = func(ctx context.Context, o api.Order) (api.Order, error) {
			o, err := settle(ctx, o)
			wctx := context.WithoutCancel(ctx)
			switch {
			case err == nil && o.State == api.StateCancelling:
				if n, gerr := s.giveBack(wctx, o, "terminal", nil); gerr == nil {
					o = n
				}
			case err == nil && !o.State.Final():
				go s.followCode(wctx, o)
			}
			return o, err
		}
		return call, nil
	})
}

// payCode charges a journaled code payment at its wallet.
func (s *Server) payCode(ctx context.Context, t *terminal, bw connector.BarcodeWallet, o api.Order, req api.CreateBarcodeOrder, now time.Time) store.Change {
	subject := req.Subject
	if subject == "" {
		subject = t.MerchantName
	}
	cctx, cancel := s.callCtx(ctx)
	start := time.Now()
	st, err := bw.Pay(cctx, connector.BarcodePay{OutTradeNo: o.OutTradeNo, AuthCode: req.AuthCode, Amount: o.Amount,
		Subject: subject, TerminalID: t.ID, StoreID: t.StoreID})
	cancel()
	s.metrics.ChannelCall(string(o.Channel), "pay", outcome(err), time.Since(start))
	return s.codeChange(o, st, err, now)
}

// checkBarcodeOrder checks a code payment before anything is journaled.
func checkBarcodeOrder(req api.CreateBarcodeOrder) error {
	if err := checkWalletOrder(req.Trace, req.Channel, req.Subject, req.Amount, req.SaleID); err != nil {
		return err
	}
	var wrong *paycode.WrongWallet
	switch err := paycode.Check(req.AuthCode, req.Channel); {
	case errors.As(err, &wrong):
		return &api.Error{Status: http.StatusBadRequest, Code: api.CodeWrongWallet,
			Message: "this is a " + string(wrong.Got) + " payment code, not " + string(wrong.Want)}
	case err != nil:
		return badRequest("auth_code is not a payment code: %v", err)
	}
	return nil
}

// codeChange is what the wallet's answer to a code payment makes of it.
func (s *Server) codeChange(o api.Order, st connector.WalletStatus, err error, now time.Time) store.Change {
	pol := s.opts.Confirm[o.Channel]
	follow := now.Add(time.Duration(pol.Tries)*pol.Every + confirmGrace)
	switch {
	case err == nil && st.State == connector.WalletPaid && st.Amount != 0 && st.Amount != o.Amount:
		// Never take another amount as this order paid: give it back, at
		// once, or by the sweeper if the wallet does not answer.
		s.log.Error("wallet reports another amount paid for a code; reversing", append(orderAttrs(o), "channel_amount", st.Amount)...)
		return store.Change{To: api.StateCancelling, Reason: api.ReasonAmountMismatch, CheckAfter: now.Add(unknownRetry)}
	case err == nil && st.State == connector.WalletPaid:
		return store.Change{To: api.StateSuccess, TradeNo: st.TradeNo}
	case err == nil && (st.State == connector.WalletPaying || st.State == connector.WalletWaiting):
		return store.Change{To: api.StatePending, CheckAfter: follow}
	case err == nil && st.State == connector.WalletDeclined:
		s.log.Info("code payment declined", append(orderAttrs(o), "channel_reason", st.Reason)...)
		return store.Change{To: api.StateFailed, Reason: declineReason(st.Reason)}
	case err == nil:
		return store.Change{To: api.StateFailed, Reason: api.ReasonPaymentFailed}
	case unknownOutcome(err):
		// Followed up like a payment awaiting confirmation: queried, then
		// reversed.
		s.log.Warn("code payment outcome unknown", append(orderAttrs(o), "err", err)...)
		return store.Change{To: api.StateUnknown, CheckAfter: follow}
	}
	s.log.Warn("code payment refused", append(orderAttrs(o), "err", err)...)
	return store.Change{To: api.StateFailed, Reason: api.ReasonChannelError}
}

// declineReason turns a wallet's reason for refusing a code into one the
// terminal explains to the cashier.
func declineReason(channel string) string {
	switch u := strings.ToUpper(channel); {
	case strings.Contains(u, "AUTH_CODE_INVALID"), strings.Contains(u, "AUTHCODEEXPIRE"), strings.Contains(u, "CODE_INVALID"):
		return api.ReasonCodeInvalid
	case strings.Contains(u, "BALANCE_NOT_ENOUGH"), strings.Contains(u, "NOTENOUGH"):
		return api.ReasonInsufficientFund
	case strings.Contains(u, "USER_CANCEL"):
		return api.ReasonCustomerDeclined
	}
	return api.ReasonPaymentFailed
}

// followCode sees a code payment through while the customer confirms on
// the phone (or its outcome is unknown): it queries on the wallet's
// cadence, and when the window closes it reverses the payment at once, so
// that nothing stays charged. Whatever changes the order meanwhile (the
// cashier cancelling, the sweeper) ends it. Should this instance die, the
// sweeper takes over when the order falls due.
func (s *Server) followCode(ctx context.Context, o api.Order) {
	pol := s.opts.Confirm[o.Channel]
	w := s.opts.Wallets[o.Channel]
	for range pol.Tries {
		select {
		case <-ctx.Done():
			return
		case <-time.After(pol.Every):
		}
		cctx, cancel := s.callCtx(ctx)
		start := time.Now()
		st, err := w.Query(cctx, o.OutTradeNo)
		cancel()
		s.metrics.ChannelCall(string(o.Channel), "query", outcome(err), time.Since(start))
		if err != nil || st.State == connector.WalletPaying || st.State == connector.WalletWaiting {
			if cur, gerr := s.st.Get(ctx, o.ID); gerr == nil && (cur.State.Final() || cur.State == api.StateCancelling) {
				return // settled, or being closed, elsewhere
			}
			continue
		}
		n, err := s.applyWalletState(ctx, o, st, api.ReasonNotConfirmed, "confirm")
		if errors.Is(err, errOtherAmount) {
			n, err = s.closeAtChannel(ctx, o, api.ReasonAmountMismatch, "confirm")
		}
		if err != nil || n.State.Final() {
			if err != nil && !errors.Is(err, store.ErrStale) && !errors.Is(err, store.ErrFinal) {
				s.log.Warn("code payment not settled; the sweeper will", append(orderAttrs(o), "err", err)...)
			}
			return
		}
		o = n
	}
	cur, err := s.st.Get(ctx, o.ID)
	if err != nil || cur.State.Final() {
		return
	}
	if _, err := s.closeAtChannel(ctx, cur, api.ReasonNotConfirmed, "confirm"); err != nil &&
		!errors.Is(err, store.ErrStale) && !errors.Is(err, store.ErrFinal) {
		s.log.Warn("code payment not reversed; the sweeper will", append(orderAttrs(cur), "err", err)...)
	}
}
