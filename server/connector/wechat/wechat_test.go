package wechat_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sandbox "github.com/multipos/multipos/sandbox/wechat"
	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/connector/wechat"
)

var seq atomic.Int64

// no makes a fresh out_trade_no.
func no(prefix string) string { return fmt.Sprintf("%s%d%06d", prefix, time.Now().Unix(), seq.Add(1)) }

const authCode = "134567890123456789"

func TestNativePayNotifyQuery(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	out := no("N")
	qr, err := r.conn.Precreate(ctx, connector.Precreate{OutTradeNo: out, Amount: 1234, Subject: "两杯咖啡",
		TerminalID: "T1", ExpiresAt: time.Now().Add(10 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(qr, "weixin://wxpay/bizpayurl?pr=") {
		t.Fatalf("code_url %q", qr)
	}
	again, err := r.conn.Precreate(ctx, connector.Precreate{OutTradeNo: out, Amount: 1234, Subject: "两杯咖啡", TerminalID: "T1"})
	if err != nil || again != qr {
		t.Fatalf("replayed precreate: %q, %v; want %q", again, err, qr)
	}
	_, err = r.conn.Precreate(ctx, connector.Precreate{OutTradeNo: out, Amount: 999, Subject: "两杯咖啡"})
	var apiErr *wechat.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != "INVALID_REQUEST" || errors.Is(err, connector.ErrUnknownOutcome) {
		t.Fatalf("same out_trade_no, other amount: %v", err)
	}
	st, err := r.conn.Query(ctx, out)
	if err != nil || st.State != connector.WalletWaiting || st.Amount != 1234 {
		t.Fatalf("query before paying: %+v, %v", st, err)
	}
	if err := r.sb.Pay(out); err != nil {
		t.Fatal(err)
	}
	n := r.rec.wait(t)
	if n.Channel != "wechat" || n.OutTradeNo != out || n.State != connector.WalletPaid || n.Amount != 1234 || n.TradeNo == "" || n.At.IsZero() {
		t.Fatalf("notification %+v", n)
	}
	st, err = r.conn.Query(ctx, out)
	if err != nil || st.State != connector.WalletPaid || st.TradeNo != n.TradeNo || st.Amount != 1234 || st.PaidAt.IsZero() {
		t.Fatalf("query after paying: %+v, %v", st, err)
	}
	_, err = r.conn.Precreate(ctx, connector.Precreate{OutTradeNo: out, Amount: 1234, Subject: "两杯咖啡", TerminalID: "T1"})
	if !errors.Is(err, connector.ErrAlreadyPaid) {
		t.Fatalf("precreate of a paid order: %v", err)
	}
}

func TestClose(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	out := no("C")
	if _, err := r.conn.Precreate(ctx, connector.Precreate{OutTradeNo: out, Amount: 500, Subject: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := r.conn.Close(ctx, out); err != nil {
		t.Fatal(err)
	}
	if err := r.conn.Close(ctx, out); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if st, err := r.conn.Query(ctx, out); err != nil || st.State != connector.WalletClosed {
		t.Fatalf("query after close: %+v, %v", st, err)
	}
	if err := r.sb.Pay(out); !errors.Is(err, sandbox.ErrState) {
		t.Fatalf("paying a closed order: %v", err)
	}

	paid := no("C")
	if _, err := r.conn.Precreate(ctx, connector.Precreate{OutTradeNo: paid, Amount: 500, Subject: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := r.sb.Pay(paid); err != nil {
		t.Fatal(err)
	}
	if err := r.conn.Close(ctx, paid); !errors.Is(err, connector.ErrAlreadyPaid) {
		t.Fatalf("close of a paid order: %v", err)
	}
	if err := r.conn.Close(ctx, no("C")); !errors.Is(err, connector.ErrNotFound) {
		t.Fatalf("close of an unknown order: %v", err)
	}
	if _, err := r.conn.Query(ctx, no("C")); !errors.Is(err, connector.ErrNotFound) {
		t.Fatalf("query of an unknown order: %v", err)
	}
}

func TestCodepayPaidAtOnce(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	out := no("B")
	st, err := r.conn.Pay(ctx, connector.BarcodePay{OutTradeNo: out, AuthCode: authCode, Amount: 880, Subject: "面包",
		TerminalID: "T1", StoreID: "S1"})
	if err != nil || st.State != connector.WalletPaid || st.Amount != 880 || st.TradeNo == "" || st.PaidAt.IsZero() {
		t.Fatalf("pay: %+v, %v", st, err)
	}
	q, err := r.conn.Query(ctx, out)
	if err != nil || q.State != connector.WalletPaid || q.TradeNo != st.TradeNo {
		t.Fatalf("query: %+v, %v", q, err)
	}
	// Retrying the same out_trade_no answers as the payment stands.
	again, err := r.conn.Pay(ctx, connector.BarcodePay{OutTradeNo: out, AuthCode: authCode, Amount: 880, Subject: "面包",
		TerminalID: "T1", StoreID: "S1"})
	if err != nil || again.State != connector.WalletPaid || again.TradeNo != st.TradeNo {
		t.Fatalf("retried pay: %+v, %v", again, err)
	}
	if got := len(r.rec.all()); got != 0 {
		t.Fatalf("%d notifications for a code payment, want none", got)
	}
}

func TestCodepayUserPayingConfirm(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.sb.NextCodepay(sandbox.CodeBehavior{Outcome: sandbox.CodeUserPaying})
	out := no("B")
	st, err := r.conn.Pay(ctx, connector.BarcodePay{OutTradeNo: out, AuthCode: authCode, Amount: 150000, Subject: "大额"})
	if err != nil || st.State != connector.WalletPaying || st.Amount != 150000 {
		t.Fatalf("pay: %+v, %v", st, err)
	}
	if q, err := r.conn.Query(ctx, out); err != nil || q.State != connector.WalletPaying {
		t.Fatalf("query while paying: %+v, %v", q, err)
	}
	if err := r.sb.Confirm(out); err != nil {
		t.Fatal(err)
	}
	if q, err := r.conn.Query(ctx, out); err != nil || q.State != connector.WalletPaid || q.TradeNo == "" || q.Amount != 150000 {
		t.Fatalf("query after confirming: %+v, %v", q, err)
	}
}

func TestCodepayUserPayingReverse(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.sb.NextCodepay(sandbox.CodeBehavior{Outcome: sandbox.CodeUserPaying})
	out := no("B")
	if st, err := r.conn.Pay(ctx, connector.BarcodePay{OutTradeNo: out, AuthCode: authCode, Amount: 2000, Subject: "x"}); err != nil || st.State != connector.WalletPaying {
		t.Fatalf("pay: %+v, %v", st, err)
	}
	if _, err := r.conn.Reverse(ctx, out); err != nil {
		t.Fatal(err)
	}
	if _, err := r.conn.Reverse(ctx, out); err != nil {
		t.Fatalf("second reverse: %v", err)
	}
	q, err := r.conn.Query(ctx, out)
	if err != nil || q.State != connector.WalletClosed || q.TradeNo != "" {
		t.Fatalf("query after reverse: %+v, %v", q, err)
	}
	if err := r.sb.Confirm(out); !errors.Is(err, sandbox.ErrState) {
		t.Fatalf("confirming a reversed payment: %v", err)
	}
	o, _ := r.sb.Order(out)
	if o.TradeState != sandbox.StateRevoked || o.TransactionID != "" || o.Refunded != 0 {
		t.Fatalf("sandbox order %+v: want REVOKED with nothing charged", o)
	}
	if _, err := r.conn.Reverse(ctx, no("B")); !errors.Is(err, connector.ErrNotFound) {
		t.Fatalf("reverse of an unknown order: %v", err)
	}
}

func TestReversePaidGivesMoneyBack(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	out := no("B")
	if st, err := r.conn.Pay(ctx, connector.BarcodePay{OutTradeNo: out, AuthCode: authCode, Amount: 700, Subject: "x"}); err != nil || st.State != connector.WalletPaid {
		t.Fatalf("pay: %+v, %v", st, err)
	}
	if _, err := r.conn.Reverse(ctx, out); err != nil {
		t.Fatal(err)
	}
	if q, err := r.conn.Query(ctx, out); err != nil || q.State != connector.WalletClosed {
		t.Fatalf("query after reverse: %+v, %v", q, err)
	}
	if o, _ := r.sb.Order(out); o.Refunded != 700 {
		t.Fatalf("sandbox order %+v: want all 700 fen given back", o)
	}
}

func TestCodepayPayError(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.sb.NextCodepay(sandbox.CodeBehavior{Outcome: sandbox.CodePayError})
	out := no("B")
	st, err := r.conn.Pay(ctx, connector.BarcodePay{OutTradeNo: out, AuthCode: authCode, Amount: 100, Subject: "x"})
	if err != nil || st.State != connector.WalletDeclined || st.Reason != "NOTENOUGH: 用户余额不足" {
		t.Fatalf("pay: %+v, %v", st, err)
	}
	if q, err := r.conn.Query(ctx, out); err != nil || q.State != connector.WalletDeclined || q.Reason != "PAYERROR: 用户余额不足" {
		t.Fatalf("query: %+v, %v", q, err)
	}

	// The customer cancels on the phone while asked for the password.
	r.sb.NextCodepay(sandbox.CodeBehavior{Outcome: sandbox.CodeUserPaying})
	out = no("B")
	if st, err := r.conn.Pay(ctx, connector.BarcodePay{OutTradeNo: out, AuthCode: authCode, Amount: 100, Subject: "x"}); err != nil || st.State != connector.WalletPaying {
		t.Fatalf("pay: %+v, %v", st, err)
	}
	if err := r.sb.Decline(out); err != nil {
		t.Fatal(err)
	}
	if q, err := r.conn.Query(ctx, out); err != nil || q.State != connector.WalletDeclined || q.Reason != "PAYERROR: 用户取消支付" {
		t.Fatalf("query after decline: %+v, %v", q, err)
	}

	// A code that is not a WeChat payment code.
	st, err = r.conn.Pay(ctx, connector.BarcodePay{OutTradeNo: no("B"), AuthCode: "284567890123456789", Amount: 100, Subject: "x"})
	if err != nil || st.State != connector.WalletDeclined || !strings.HasPrefix(st.Reason, "AUTH_CODE_INVALID") {
		t.Fatalf("pay with an Alipay code: %+v, %v", st, err)
	}

	// A refusal the trainer chose, for one auth code.
	r.sb.CodepayFor("109999999999999999", sandbox.CodeBehavior{Outcome: sandbox.CodePayError, Code: "TRADE_ERROR", Message: "交易错误"})
	st, err = r.conn.Pay(ctx, connector.BarcodePay{OutTradeNo: no("B"), AuthCode: "109999999999999999", Amount: 100, Subject: "x"})
	if err != nil || st.State != connector.WalletDeclined || st.Reason != "TRADE_ERROR: 交易错误" {
		t.Fatalf("pay: %+v, %v", st, err)
	}
}

func TestRefunds(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	out := no("R")
	if st, err := r.conn.Pay(ctx, connector.BarcodePay{OutTradeNo: out, AuthCode: authCode, Amount: 1000, Subject: "x"}); err != nil || st.State != connector.WalletPaid {
		t.Fatalf("pay: %+v, %v", st, err)
	}
	r1 := out + "-R1"
	res, err := r.conn.Refund(ctx, connector.Refund{OutTradeNo: out, OutRefundNo: r1, Amount: 300, Total: 1000, Reason: "退一杯"})
	if err != nil || res.State != connector.RefundProcessing || res.RefundID == "" || res.Amount != 300 || res.OutRefundNo != r1 {
		t.Fatalf("refund: %+v, %v", res, err)
	}
	again, err := r.conn.Refund(ctx, connector.Refund{OutTradeNo: out, OutRefundNo: r1, Amount: 300, Total: 1000, Reason: "退一杯"})
	if err != nil || again.RefundID != res.RefundID {
		t.Fatalf("retried refund: %+v, %v; want refund %s again", again, err, res.RefundID)
	}
	if _, err := r.conn.Refund(ctx, connector.Refund{OutTradeNo: out, OutRefundNo: r1, Amount: 400, Total: 1000}); err == nil {
		t.Fatal("same out_refund_no with another amount was accepted")
	}
	waitRefund(t, r.conn, out, r1, connector.RefundSuccess)
	if _, err := r.conn.Refund(ctx, connector.Refund{OutTradeNo: out, OutRefundNo: out + "-R2", Amount: 800, Total: 1000}); err == nil {
		t.Fatal("refunding more than is left was accepted")
	}
	res, err = r.conn.Refund(ctx, connector.Refund{OutTradeNo: out, OutRefundNo: out + "-R2", Amount: 700, Total: 1000})
	if err != nil || res.Amount != 700 {
		t.Fatalf("second partial refund: %+v, %v", res, err)
	}
	waitRefund(t, r.conn, out, out+"-R2", connector.RefundSuccess)
	if q, err := r.conn.Query(ctx, out); err != nil || q.State != connector.WalletPaid {
		t.Fatalf("a refunded order still was paid: %+v, %v", q, err)
	}
	if o, _ := r.sb.Order(out); o.Refunded != 1000 || o.TradeState != sandbox.StateRefund {
		t.Fatalf("sandbox order %+v", o)
	}
	if _, err := r.conn.QueryRefund(ctx, out, out+"-R9"); !errors.Is(err, connector.ErrNotFound) {
		t.Fatalf("query of an unknown refund: %v", err)
	}
	if _, err := r.conn.Refund(ctx, connector.Refund{OutTradeNo: no("R"), OutRefundNo: "X-R1", Amount: 1, Total: 1}); !errors.Is(err, connector.ErrNotFound) {
		t.Fatalf("refund of an unknown order: %v", err)
	}

	// REFUND.SUCCESS notifications went to the notify_url, were verified
	// and acknowledged, and did not reach the payment Notifier.
	deadline := time.Now().Add(5 * time.Second)
	for {
		acked := 0
		for _, d := range r.sb.Deliveries() {
			if d.EventType == "REFUND.SUCCESS" && d.Acknowledged() {
				acked++
			}
		}
		if acked == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("refund notifications acknowledged: %d of 2; deliveries %+v", acked, r.sb.Deliveries())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := r.rec.all(); len(got) != 0 {
		t.Fatalf("refund notifications reached the notifier: %+v", got)
	}

	r.sb.AbnormalNextRefund()
	out = no("R")
	if _, err := r.conn.Pay(ctx, connector.BarcodePay{OutTradeNo: out, AuthCode: authCode, Amount: 50, Subject: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.conn.Refund(ctx, connector.Refund{OutTradeNo: out, OutRefundNo: out + "-R1", Amount: 50, Total: 50}); err != nil {
		t.Fatal(err)
	}
	waitRefund(t, r.conn, out, out+"-R1", connector.RefundFailed)
}

func waitRefund(t *testing.T, c *wechat.Connector, out, outRefundNo string, want connector.RefundState) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, err := c.QueryRefund(context.Background(), out, outRefundNo)
		if err == nil && res.State == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("refund %s: %+v, %v; want %s", outRefundNo, res, err, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestTradeBill(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	a, b := no("D"), no("D")
	if _, err := r.conn.Pay(ctx, connector.BarcodePay{OutTradeNo: a, AuthCode: authCode, Amount: 1234, Subject: "a", TerminalID: "T9"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.conn.Precreate(ctx, connector.Precreate{OutTradeNo: b, Amount: 5000, Subject: "b"}); err != nil {
		t.Fatal(err)
	}
	if err := r.sb.Pay(b); err != nil {
		t.Fatal(err)
	}
	if _, err := r.conn.Refund(ctx, connector.Refund{OutTradeNo: b, OutRefundNo: b + "-R1", Amount: 1000, Total: 5000}); err != nil {
		t.Fatal(err)
	}
	toBillReady(r.sb)
	data, err := r.conn.TradeBill(ctx, time.Now(), "ALL")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\r\n"), "\r\n")
	if len(lines) != 6 {
		t.Fatalf("bill has %d lines, want header, 3 rows, summary header and summary:\n%s", len(lines), data)
	}
	if cols := strings.Split(lines[0], ","); len(cols) != 27 || cols[0] != "交易时间" || cols[26] != "费率备注" {
		t.Fatalf("header %q", lines[0])
	}
	for _, l := range lines[1:4] {
		f := strings.Split(l, ",")
		if len(f) != 27 {
			t.Fatalf("row has %d fields: %q", len(f), l)
		}
		for _, v := range f {
			if !strings.HasPrefix(v, "`") {
				t.Fatalf("field %q of %q lacks the backtick", v, l)
			}
		}
	}
	if !strings.Contains(string(data), "`"+a+",") || !strings.Contains(string(data), "`12.34,") || !strings.Contains(string(data), "`T9,") {
		t.Fatalf("payment %s of 12.34 yuan from T9 not in the bill:\n%s", a, data)
	}
	if !strings.Contains(string(data), "`"+b+"-R1,`10.00,") {
		t.Fatalf("refund of 10.00 yuan not in the bill:\n%s", data)
	}
	if !strings.HasPrefix(lines[4], "总交易单数,") || !strings.HasPrefix(lines[5], "`3,`62.34,`10.00,`0.00,") {
		t.Fatalf("summary %q / %q", lines[4], lines[5])
	}

	// A corrupted download fails the SHA1 check.
	r.sb.InjectFault(sandbox.OpBillDownload, sandbox.Fault{Kind: sandbox.FaultBadSignature})
	if _, err := r.conn.TradeBill(ctx, time.Now(), "ALL"); err == nil || !strings.Contains(err.Error(), "SHA1") {
		t.Fatalf("corrupted bill: %v", err)
	}
	if _, err := r.conn.TradeBill(ctx, time.Now().AddDate(0, 0, -1), "ALL"); !errors.Is(err, wechat.ErrNoStatement) {
		t.Fatalf("bill of a day without trades: %v", err)
	}
}

func TestUnknownOutcomes(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()

	// The payment goes through but its answer is lost.
	r.sb.InjectFault(sandbox.OpCodepay, sandbox.Fault{Kind: sandbox.FaultLoseReply})
	out := no("U")
	if _, err := r.conn.Pay(ctx, connector.BarcodePay{OutTradeNo: out, AuthCode: authCode, Amount: 300, Subject: "x"}); !errors.Is(err, connector.ErrUnknownOutcome) {
		t.Fatalf("pay with the answer lost: %v", err)
	}
	if q, err := r.conn.Query(ctx, out); err != nil || q.State != connector.WalletPaid {
		t.Fatalf("query after a lost answer: %+v, %v", q, err)
	}
	if _, err := r.conn.Reverse(ctx, out); err != nil {
		t.Fatal(err)
	}

	r.sb.InjectFault(sandbox.OpQuery, sandbox.Fault{Kind: sandbox.FaultSystemError})
	if _, err := r.conn.Query(ctx, out); !errors.Is(err, connector.ErrUnknownOutcome) {
		t.Fatalf("query answered SYSTEM_ERROR: %v", err)
	}
	r.sb.InjectFault(sandbox.OpCodepay, sandbox.Fault{Kind: sandbox.FaultSystemError})
	if _, err := r.conn.Pay(ctx, connector.BarcodePay{OutTradeNo: no("U"), AuthCode: authCode, Amount: 300, Subject: "x"}); !errors.Is(err, connector.ErrUnknownOutcome) {
		t.Fatalf("pay answered SYSTEM_ERROR: %v", err)
	}

	r.sb.InjectFault(sandbox.OpClose, sandbox.Fault{Kind: sandbox.FaultDelay, Delay: 3 * time.Second})
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := r.conn.Close(cctx, out); !errors.Is(err, connector.ErrUnknownOutcome) {
		t.Fatalf("close that timed out: %v", err)
	}
}

func TestWrongKeyAnswersRefused(t *testing.T) {
	// A sandbox signing with a key the connector does not trust.
	r := newRig(t, func(o *sandbox.Options, _ *wechat.Config) { o.PrivateKey = keys().rogue })
	ctx := context.Background()
	out := no("K")
	if _, err := r.conn.Precreate(ctx, connector.Precreate{OutTradeNo: out, Amount: 100, Subject: "x"}); !errors.Is(err, connector.ErrUnknownOutcome) {
		t.Fatalf("precreate answered with another key: %v", err)
	}
	if _, err := r.conn.Query(ctx, out); !errors.Is(err, connector.ErrUnknownOutcome) {
		t.Fatalf("query answered with another key: %v", err)
	}
	// A forged refusal must not pass for ORDER_NOT_EXIST either.
	if err := r.conn.Close(ctx, no("K")); !errors.Is(err, connector.ErrUnknownOutcome) || errors.Is(err, connector.ErrNotFound) {
		t.Fatalf("close refused with another key: %v", err)
	}

	// One spoiled signature from the right sandbox.
	r = newRig(t)
	out = no("K")
	r.sb.InjectFault(sandbox.OpCodepay, sandbox.Fault{Kind: sandbox.FaultBadSignature})
	if _, err := r.conn.Pay(ctx, connector.BarcodePay{OutTradeNo: out, AuthCode: authCode, Amount: 100, Subject: "x"}); !errors.Is(err, connector.ErrUnknownOutcome) {
		t.Fatalf("pay answered with a bad signature: %v", err)
	}
	r.sb.NextCodepay(sandbox.CodeBehavior{Outcome: sandbox.CodePayError})
	r.sb.InjectFault(sandbox.OpCodepay, sandbox.Fault{Kind: sandbox.FaultBadSignature})
	if st, err := r.conn.Pay(ctx, connector.BarcodePay{OutTradeNo: no("K"), AuthCode: authCode, Amount: 100, Subject: "x"}); !errors.Is(err, connector.ErrUnknownOutcome) {
		t.Fatalf("decline with a bad signature: %+v, %v", st, err)
	}
}

func TestBadAuthorization(t *testing.T) {
	// The merchant signs with a key the sandbox does not know.
	r := newRig(t, func(_ *sandbox.Options, c *wechat.Config) { c.MerchantPrivateKeyPEM = privatePEM(t, keys().rogue) })
	_, err := r.conn.Precreate(context.Background(), connector.Precreate{OutTradeNo: no("A"), Amount: 100, Subject: "x"})
	var apiErr *wechat.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnauthorized || apiErr.Code != "SIGN_ERROR" || errors.Is(err, connector.ErrUnknownOutcome) {
		t.Fatalf("precreate signed with an unknown key: %v", err)
	}
	if n := r.sb.Calls(sandbox.OpNative); n != 1 {
		t.Fatalf("%d native calls counted, want 1", n)
	}
}

func TestNotifyRefusesForgeries(t *testing.T) {
	r := newRig(t)
	k := keys()
	h := r.conn.NotifyHandler(r.rec)
	now := time.Now()
	post := func(body []byte, hdr http.Header) int {
		req, _ := http.NewRequest(http.MethodPost, "/wechat/notify", bytes.NewReader(body))
		req.Header = hdr
		w := newRecorderWriter()
		h.ServeHTTP(w, req)
		return w.status
	}
	good, goodH := notification(t, k.wechat, apiV3Key, "transaction", paidTransaction(mchID, "O1", 500), now)
	type forged struct {
		name string
		body []byte
		hdr  http.Header
		want int
	}
	var cases []forged
	add := func(name string, want int, body []byte, hdr http.Header) {
		cases = append(cases, forged{name, body, hdr, want})
	}
	b, h2 := notification(t, k.rogue, apiV3Key, "transaction", paidTransaction(mchID, "O1", 500), now)
	add("signed by another key", 401, b, h2)
	add("body tampered after signing", 401, bytes.Replace(good, []byte(`"EV-test`), []byte(`"EV-fake`), 1), goodH)
	b, _ = notification(t, k.wechat, apiV3Key, "transaction", paidTransaction(mchID, "O1", 1), now)
	add("other amount under the good signature", 401, b, goodH)
	add("no signature", 401, good, http.Header{"Content-Type": {"application/json"}})
	b, h2 = notification(t, k.wechat, apiV3Key, "transaction", paidTransaction(mchID, "O1", 500), now.Add(-10*time.Minute))
	add("stale timestamp", 401, b, h2)
	h2 = goodH.Clone()
	h2.Set("Wechatpay-Serial", "PUB_KEY_ID_OTHER")
	add("wrong serial", 401, good, h2)
	b, h2 = notification(t, k.wechat, "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "transaction", paidTransaction(mchID, "O1", 500), now)
	add("encrypted under another APIv3 key", 400, b, h2)
	b, h2 = notification(t, k.wechat, apiV3Key, "transaction", paidTransaction("1900000999", "O1", 500), now)
	add("another merchant's", 400, b, h2)
	b = bytes.Replace(good, []byte(`"nonce":"0123456789ab"`), []byte(`"nonce":"short"`), 1)
	add("signed, with a nonce AES-GCM cannot take", 400, b, signedHeaders(t, k.wechat, b, now))
	b = []byte(`{"id":"EV-1"}`)
	add("signed, but no resource", 400, b, signedHeaders(t, k.wechat, b, now))

	for _, c := range cases {
		if got := post(c.body, c.hdr); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
	}
	if got := r.rec.all(); len(got) != 0 {
		t.Fatalf("refused notifications reached the notifier: %+v", got)
	}

	if got := post(good, goodH); got != http.StatusNoContent {
		t.Fatalf("good notification: status %d", got)
	}
	if got := r.rec.all(); len(got) != 1 || got[0].OutTradeNo != "O1" || got[0].Amount != 500 || got[0].State != connector.WalletPaid {
		t.Fatalf("notifier got %+v", got)
	}

	// The notifier refusing is a 500 FAIL, so that WeChat Pay sends it again.
	r.rec.mu.Lock()
	r.rec.refuse = 1
	r.rec.mu.Unlock()
	if got := post(good, goodH); got != http.StatusInternalServerError {
		t.Fatalf("notification the notifier refused: status %d, want 500", got)
	}
}

type recorderWriter struct {
	status int
	h      http.Header
	buf    bytes.Buffer
}

func newRecorderWriter() *recorderWriter { return &recorderWriter{status: 200, h: http.Header{}} }

func (w *recorderWriter) Header() http.Header         { return w.h }
func (w *recorderWriter) Write(b []byte) (int, error) { return w.buf.Write(b) }
func (w *recorderWriter) WriteHeader(s int)           { w.status = s }

func TestNotificationsRetriedDuplicatedReordered(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()

	// Refused twice, then taken: three attempts of the same notification.
	r.rec.mu.Lock()
	r.rec.refuse = 2
	r.rec.mu.Unlock()
	out := no("Y")
	if _, err := r.conn.Precreate(ctx, connector.Precreate{OutTradeNo: out, Amount: 100, Subject: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := r.sb.Pay(out); err != nil {
		t.Fatal(err)
	}
	if n := r.rec.wait(t); n.OutTradeNo != out {
		t.Fatalf("notification %+v", n)
	}
	if statuses := deliveryStatuses(t, r.sb, out, 3); fmt.Sprint(statuses) != "[500 500 204]" {
		t.Fatalf("delivery statuses %v, want [500 500 204]", statuses)
	}

	// A spoiled signature is refused; the retry goes through.
	r.sb.BadSignatureNextNotification()
	out = no("Y")
	if _, err := r.conn.Precreate(ctx, connector.Precreate{OutTradeNo: out, Amount: 100, Subject: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := r.sb.Pay(out); err != nil {
		t.Fatal(err)
	}
	r.rec.wait(t)
	if statuses := deliveryStatuses(t, r.sb, out, 2); fmt.Sprint(statuses) != "[401 204]" {
		t.Fatalf("delivery statuses %v, want [401 204]", statuses)
	}

	// Duplicates reach the notifier, which must tolerate them.
	r.sb.DuplicateNextNotification()
	out = no("Y")
	if _, err := r.conn.Precreate(ctx, connector.Precreate{OutTradeNo: out, Amount: 100, Subject: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := r.sb.Pay(out); err != nil {
		t.Fatal(err)
	}
	if a, b := r.rec.wait(t), r.rec.wait(t); a != b || a.OutTradeNo != out {
		t.Fatalf("duplicates %+v and %+v", a, b)
	}

	// Held and released newest first.
	r.sb.HoldNotifications()
	first, second := no("Y"), no("Y")
	for _, o := range []string{first, second} {
		if _, err := r.conn.Precreate(ctx, connector.Precreate{OutTradeNo: o, Amount: 100, Subject: "x"}); err != nil {
			t.Fatal(err)
		}
		if err := r.sb.Pay(o); err != nil {
			t.Fatal(err)
		}
	}
	r.sb.ReleaseNotifications(true)
	if a, b := r.rec.wait(t), r.rec.wait(t); a.OutTradeNo != second || b.OutTradeNo != first {
		t.Fatalf("released out of order: got %s then %s, want %s then %s", a.OutTradeNo, b.OutTradeNo, second, first)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	k := keys()
	good := wechat.Config{MchID: mchID, AppID: appID, MerchantSerial: serial, MerchantPrivateKeyPEM: privatePEM(t, k.merchant),
		APIv3Key: apiV3Key, PublicKeyID: pubKeyID, WechatPayPublicKeyPEM: publicPEM(t, &k.wechat.PublicKey),
		NotifyURL: "https://pos.example.com/wechat/notify"}
	if _, err := wechat.New(context.Background(), good, nil); err != nil {
		t.Fatalf("good config: %v", err)
	}
	cases := []struct {
		name   string
		change func(*wechat.Config)
		want   string
	}{
		{"path instead of PEM", func(c *wechat.Config) { c.MerchantPrivateKeyPEM = []byte("/etc/wechat/apiclient_key.pem") }, "not its path"},
		{"public key as private", func(c *wechat.Config) { c.MerchantPrivateKeyPEM = publicPEM(t, &k.merchant.PublicKey) }, "want PRIVATE KEY"},
		{"private key as WeChat Pay's", func(c *wechat.Config) { c.WechatPayPublicKeyPEM = privatePEM(t, k.wechat) }, "want PUBLIC KEY"},
		{"certificate mode", func(c *wechat.Config) {
			c.WechatPayPublicKeyPEM = []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
		}, "platform-certificate mode"},
		{"short APIv3 key", func(c *wechat.Config) { c.APIv3Key = "short" }, "32"},
		{"no mchid", func(c *wechat.Config) { c.MchID = "" }, "MchID"},
		{"serial as key id", func(c *wechat.Config) { c.PublicKeyID = serial }, "PUB_KEY_ID_"},
		{"endpoint with a path", func(c *wechat.Config) { c.Endpoint = "http://127.0.0.1:1/wechat" }, "scheme and host only"},
		{"notify url with a query", func(c *wechat.Config) { c.NotifyURL = "https://pos.example.com/n?x=1" }, "query"},
	}
	for _, c := range cases {
		cfg := good
		c.change(&cfg)
		_, err := wechat.New(context.Background(), cfg, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.want)
		}
	}
}

// deliveryStatuses waits for n delivery attempts of out's notifications
// and returns the merchant's statuses.
func deliveryStatuses(t *testing.T, sb *sandbox.Sandbox, out string, n int) []int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var statuses []int
		for _, d := range sb.Deliveries() {
			if d.OutTradeNo == out {
				statuses = append(statuses, d.Status)
			}
		}
		if len(statuses) >= n || time.Now().After(deadline) {
			return statuses
		}
		time.Sleep(5 * time.Millisecond)
	}
}
