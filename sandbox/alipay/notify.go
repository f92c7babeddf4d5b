package alipay

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Delivery is one attempt to deliver an asynchronous notification.
type Delivery struct {
	NotifyID    string    `json:"notify_id"`
	OutTradeNo  string    `json:"out_trade_no"`
	TradeStatus string    `json:"trade_status"`
	RefundFee   string    `json:"refund_fee,omitempty"`
	Attempt     int       `json:"attempt"` // 1 for the first, 2 for the first retry…
	At          time.Time `json:"at"`
	Duplicate   bool      `json:"duplicate,omitempty"` // an extra copy sent by a fault
	BadSign     bool      `json:"bad_sign,omitempty"`  // its signature spoiled by a fault
	Status      int       `json:"status"`              // the receiver's HTTP status; 0 if the post failed
	Body        string    `json:"body"`                // the receiver's answer, cut at 200 bytes
	Err         string    `json:"err,omitempty"`
	Acked       bool      `json:"acked"` // the receiver answered exactly "success"
}

// Notification is a notification as the sandbox signed it, for tests that
// replay or tamper with it.
type Notification struct {
	NotifyID string
	URL      string
	Form     url.Values
}

type note struct {
	id         string
	url        string
	form       url.Values // signed
	badSign    string     // replaces sign on the first attempt, when a fault asked
	duplicate  bool
	outTradeNo string
	status     string
}

type noteState struct {
	holding     bool
	held        []*note
	dupNext     int
	badSignNext int
	seq         int
	sent        []Notification
	deliveries  []Delivery
}

// notifyLocked sends trade_status_sync for the trade's current state to
// url, with the refund's fields when a refund caused it.
func (s *Sandbox) notifyLocked(t *trade, notifyURL string, r *refundRec) {
	if notifyURL == "" || s.closed {
		return
	}
	now := s.nowLocked()
	s.notes.seq++
	id := fmt.Sprintf("%s0022%s%06d%s", now.In(cst).Format("20060102"), now.In(cst).Format("150405"),
		s.notes.seq, randDigits(8))
	appID := s.opts.AppID
	if appID == "" {
		appID = t.appID
	}
	v := url.Values{}
	set := func(k, val string) {
		if val != "" { // empty fields are left out: they are not signed either
			v.Set(k, val)
		}
	}
	set("notify_time", fmtTime(now))
	set("notify_type", "trade_status_sync")
	set("notify_id", id)
	set("app_id", appID)
	set("auth_app_id", appID)
	set("charset", "utf-8")
	set("version", "1.0")
	set("sign_type", "RSA2")
	set("trade_no", t.tradeNo)
	set("out_trade_no", t.outTradeNo)
	set("buyer_id", t.buyerID)
	set("buyer_logon_id", t.buyerLogonID)
	set("seller_id", s.opts.SellerID)
	set("trade_status", t.status)
	set("total_amount", yuan(t.amount))
	if t.wasPaid() {
		set("receipt_amount", yuan(t.amount))
		set("invoice_amount", yuan(t.amount))
		set("buyer_pay_amount", yuan(t.amount))
		set("point_amount", "0.00")
		set("gmt_payment", fmtTime(t.paidAt))
		set("fund_bill_list", `[{"amount":"`+yuan(t.amount)+`","fundChannel":"ALIPAYACCOUNT"}]`)
	}
	set("gmt_create", fmtTime(t.created))
	if t.status == StatusTradeClosed {
		set("gmt_close", fmtTime(t.closedAt))
	}
	set("subject", t.subject)
	set("body", t.body)
	if r != nil {
		set("out_biz_no", r.outRequestNo)
		set("refund_fee", yuan(t.refunded))
		set("gmt_refund", r.at.In(cst).Format("2006-01-02 15:04:05.000"))
	}
	sig, err := SignRSA2(s.key, []byte(SignContent(v, "sign", "sign_type")))
	if err != nil {
		s.log.Error("sign notification", "err", err)
		return
	}
	v.Set("sign", sig)
	n := &note{id: id, url: notifyURL, form: v, outTradeNo: t.outTradeNo, status: t.status}
	if s.notes.dupNext > 0 {
		s.notes.dupNext--
		n.duplicate = true
	}
	if s.notes.badSignNext > 0 {
		s.notes.badSignNext--
		n.badSign = corrupt(sig)
	}
	s.notes.sent = keepLast(append(s.notes.sent, Notification{NotifyID: id, URL: notifyURL, Form: cloneValues(v)}))
	if s.notes.holding {
		s.notes.held = append(s.notes.held, n)
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if !s.first(n) {
			s.retry(n)
		}
	}()
}

// logLimit bounds the notification logs of a sandbox left running for a
// training day.
const logLimit = 10000

func keepLast[T any](s []T) []T {
	if len(s) > logLimit {
		return slices.Clone(s[len(s)-logLimit/2:])
	}
	return s
}

func randDigits(n int) string {
	var b strings.Builder
	for range n {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		b.WriteByte(byte('0' + d.Int64()))
	}
	return b.String()
}

func cloneValues(v url.Values) url.Values {
	c := make(url.Values, len(v))
	for k, vs := range v {
		c[k] = slices.Clone(vs)
	}
	return c
}

// first makes the first attempt (and the duplicate a fault asked for).
func (s *Sandbox) first(n *note) bool {
	ok := s.attempt(n, 1, false)
	if n.duplicate {
		s.attempt(n, 1, true)
	}
	return ok
}

// retry keeps trying on the schedule until the receiver answers success,
// with the same notify_id every time, as Alipay does.
func (s *Sandbox) retry(n *note) {
	for i, gap := range s.opts.NotifySchedule {
		t := time.NewTimer(gap)
		select {
		case <-s.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if s.attempt(n, i+2, false) {
			return
		}
	}
	s.log.Warn("notification given up", "notify_id", n.id, "out_trade_no", n.outTradeNo, "url", n.url)
}

func (s *Sandbox) attempt(n *note, attempt int, duplicate bool) bool {
	form := n.form
	bad := attempt == 1 && !duplicate && n.badSign != ""
	if bad {
		form = cloneValues(n.form)
		form.Set("sign", n.badSign)
	}
	d := Delivery{NotifyID: n.id, OutTradeNo: n.outTradeNo, TradeStatus: n.status, RefundFee: n.form.Get("refund_fee"),
		Attempt: attempt, At: s.Now(), Duplicate: duplicate, BadSign: bad}
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, strings.NewReader(form.Encode()))
	if err == nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		var resp *http.Response
		if resp, err = s.opts.HTTPClient.Do(req); err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			d.Status = resp.StatusCode
			d.Acked = string(body) == "success"
			if len(body) > 200 {
				body = body[:200]
			}
			d.Body = string(body)
		}
	}
	if err != nil {
		d.Err = err.Error()
	}
	s.log.Info("notification posted", "notify_id", n.id, "out_trade_no", n.outTradeNo, "trade_status", n.status,
		"attempt", attempt, "status", d.Status, "acked", d.Acked, "err", d.Err)
	s.mu.Lock()
	s.notes.deliveries = keepLast(append(s.notes.deliveries, d))
	s.mu.Unlock()
	return d.Acked
}

// DuplicateNextNotification makes the next notification arrive twice, the
// copy right after the first attempt, with the same notify_id.
func (s *Sandbox) DuplicateNextNotification() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notes.dupNext++
}

// BadSignNextNotification spoils the signature of the next notification's
// first attempt; its retries carry the right one.
func (s *Sandbox) BadSignNextNotification() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notes.badSignNext++
}

// HoldNotifications keeps notifications back until ReleaseNotifications.
func (s *Sandbox) HoldNotifications() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notes.holding = true
}

// ReleaseNotifications sends the held notifications one after the other,
// newest first when reverse (out of order), and stops holding. It returns
// how many there were.
func (s *Sandbox) ReleaseNotifications(reverse bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	held := s.notes.held
	s.notes.held, s.notes.holding = nil, false
	if reverse {
		slices.Reverse(held)
	}
	if len(held) == 0 || s.closed {
		return len(held)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for _, n := range held {
			if !s.first(n) {
				s.wg.Add(1)
				go func() {
					defer s.wg.Done()
					s.retry(n)
				}()
			}
		}
	}()
	return len(held)
}

// Deliveries lists the notification attempts so far, oldest first (the
// last few thousand).
func (s *Sandbox) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.notes.deliveries)
}

// Notifications lists the notifications the sandbox has issued, as signed
// (the last few thousand).
func (s *Sandbox) Notifications() []Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Notification, len(s.notes.sent))
	for i, n := range s.notes.sent {
		out[i] = Notification{NotifyID: n.NotifyID, URL: n.URL, Form: cloneValues(n.Form)}
	}
	return out
}
