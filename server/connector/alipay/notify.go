package alipay

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	sdk "github.com/smartwalle/alipay/v3"

	"github.com/multipos/multipos/server/connector"
)

// maxNotifyBody bounds a notification's body; real ones are about 2 KB.
const maxNotifyBody = 64 << 10

// NotifyHandler receives Alipay's asynchronous notifications
// (trade_status_sync) at Config.NotifyURL. A notification is passed to n
// only once its signature verifies with Alipay's public key and it is for
// this app; the answer is "success" only when n returned nil, so that
// Alipay sends it again otherwise. Anything forged, tampered with,
// malformed or for another app is answered 400 and logged, and never
// reaches n.
//
// Duplicates (Alipay retries with the same notify_id) reach n every time:
// the server dedupes. Refund notifications are verified and acknowledged
// without reaching n: Notification has no way to say "refunded", and
// taking their TRADE_SUCCESS or TRADE_CLOSED for a payment state would
// mislead it; refunds are followed with QueryRefund.
func (c *Connector) NotifyHandler(n connector.Notifier) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "fail", http.StatusMethodNotAllowed)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxNotifyBody)
		form, err := notifyForm(r)
		if err != nil {
			c.reject(w, r, nil, err)
			return
		}
		note, err := c.client.DecodeNotification(r.Context(), form)
		if err != nil {
			c.reject(w, r, form, fmt.Errorf("signature: %w", err))
			return
		}
		nt, skip, err := c.notification(note)
		if err != nil {
			c.reject(w, r, form, err)
			return
		}
		if skip != "" {
			c.log.Info("notification acknowledged, not passed on", "why", skip, "notify_id", note.NotifyId,
				"out_trade_no", note.OutTradeNo, "trade_status", string(note.TradeStatus), "refund_fee", note.RefundFee)
			ack(w)
			return
		}
		if err := n.Notify(r.Context(), nt); err != nil {
			c.log.Warn("notification not taken; Alipay will send it again", "notify_id", note.NotifyId,
				"out_trade_no", nt.OutTradeNo, "state", string(nt.State), "err", err)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte("fail"))
			return
		}
		c.log.Info("notification", "notify_id", note.NotifyId, "out_trade_no", nt.OutTradeNo, "state", string(nt.State),
			"trade_no", nt.TradeNo, "amount", nt.Amount)
		ack(w)
	})
}

func ack(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("success"))
}

// notifyForm reads the posted form alone (not the URL's query: only what
// Alipay posted is signed) and refuses repeated fields, whose signed and
// used values could differ.
func notifyForm(r *http.Request) (url.Values, error) {
	if err := r.ParseForm(); err != nil {
		return nil, fmt.Errorf("form: %w", err)
	}
	if len(r.PostForm) == 0 {
		return nil, errors.New("no form fields")
	}
	for k, vs := range r.PostForm {
		if len(vs) != 1 {
			return nil, fmt.Errorf("field %q given %d times", k, len(vs))
		}
	}
	return r.PostForm, nil
}

// notification checks a verified notification and turns it into the
// connector's; skip says why one is acknowledged without being passed on.
func (c *Connector) notification(note *sdk.Notification) (nt connector.Notification, skip string, err error) {
	if note.AppId != c.cfg.AppID {
		return nt, "", fmt.Errorf("app_id %q is not ours", note.AppId)
	}
	if note.NotifyType != sdk.NotifyTypeTradeStatusSync {
		return nt, "", fmt.Errorf("notify_type %q", note.NotifyType)
	}
	if note.OutTradeNo == "" {
		return nt, "", errors.New("no out_trade_no")
	}
	amount, err := fen(note.TotalAmount)
	if err != nil {
		return nt, "", fmt.Errorf("total_amount: %w", err)
	}
	nt = connector.Notification{Channel: Channel, OutTradeNo: note.OutTradeNo, TradeNo: note.TradeNo, Amount: amount}
	switch note.TradeStatus {
	case sdk.TradeStatusWaitBuyerPay:
		nt.State, nt.At = connector.WalletWaiting, parseTime(note.GmtCreate)
	case sdk.TradeStatusSuccess, sdk.TradeStatusFinished:
		nt.State, nt.At = connector.WalletPaid, parseTime(note.GmtPayment)
	case sdk.TradeStatusClosed:
		nt.State, nt.At = connector.WalletClosed, parseTime(note.GmtClose)
	default:
		return nt, "", fmt.Errorf("trade_status %q", note.TradeStatus)
	}
	if nt.At.IsZero() {
		nt.At = parseTime(note.NotifyTime)
	}
	if nt.At.IsZero() {
		nt.At = time.Now()
	}
	if note.RefundFee != "" || note.GmtRefund != "" || note.OutBizNo != "" {
		return nt, "refund", nil
	}
	return nt, "", nil
}

// reject answers 400 and logs what the notification claimed, unverified.
func (c *Connector) reject(w http.ResponseWriter, r *http.Request, form url.Values, why error) {
	c.log.Warn("notification refused", "remote", r.RemoteAddr, "why", why.Error(),
		"notify_id", form.Get("notify_id"), "app_id", form.Get("app_id"),
		"out_trade_no", form.Get("out_trade_no"), "trade_status", form.Get("trade_status"),
		"total_amount", form.Get("total_amount"))
	http.Error(w, "fail", http.StatusBadRequest)
}
