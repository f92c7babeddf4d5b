package alipay

import (
	"errors"
	"strings"
	"testing"
	"time"

	sbx "github.com/multipos/multipos/sandbox/alipay"
	"github.com/multipos/multipos/server/connector"
)

func TestQRPaidNotifiedThenQueried(t *testing.T) {
	r := newRig(t)
	qr := r.precreate(t, "QR_1", 1234)
	if !strings.HasPrefix(qr, "https://qr.alipay.com/bax") {
		t.Fatalf("qr_code %q", qr)
	}
	// Alipay creates the trade only when the customer scans.
	if _, err := r.c.Query(r.ctx, "QR_1"); !errors.Is(err, connector.ErrNotFound) {
		t.Fatalf("query before the scan: %v, want ErrNotFound", err)
	}
	if again := r.precreate(t, "QR_1", 1234); again != qr {
		t.Fatalf("precreate replayed: %q, want the same %q", again, qr)
	}
	if err := r.sb.Pay(r.ctx, "QR_1"); err != nil {
		t.Fatal(err)
	}
	n := r.rec.next(t)
	if n.Channel != "alipay" || n.OutTradeNo != "QR_1" || n.State != connector.WalletPaid || n.Amount != 1234 ||
		n.TradeNo == "" || n.At.IsZero() {
		t.Fatalf("notification %+v", n)
	}
	st := r.query(t, "QR_1")
	if st.State != connector.WalletPaid || st.Amount != 1234 || st.TradeNo != n.TradeNo || st.PaidAt.IsZero() {
		t.Fatalf("query %+v", st)
	}
	if _, err := r.c.Precreate(r.ctx, connector.Precreate{OutTradeNo: "QR_1", Amount: 1234, Subject: "x"}); !errors.Is(err, connector.ErrAlreadyPaid) {
		t.Fatalf("precreate of a paid order: %v, want ErrAlreadyPaid", err)
	}
}

func TestQRClose(t *testing.T) {
	r := newRig(t)
	r.precreate(t, "QR_2", 500)
	if err := r.c.Close(r.ctx, "QR_2"); !errors.Is(err, connector.ErrNotFound) {
		t.Fatalf("close before the scan: %v, want ErrNotFound", err)
	}
	if err := r.sb.Scan(r.ctx, "QR_2"); err != nil {
		t.Fatal(err)
	}
	if st := r.query(t, "QR_2"); st.State != connector.WalletWaiting || st.Amount != 500 {
		t.Fatalf("after the scan: %+v", st)
	}
	if err := r.c.Close(r.ctx, "QR_2"); err != nil {
		t.Fatalf("close: %v", err)
	}
	if n := r.rec.next(t); n.State != connector.WalletClosed || n.OutTradeNo != "QR_2" || n.Amount != 500 {
		t.Fatalf("close notification %+v", n)
	}
	if st := r.query(t, "QR_2"); st.State != connector.WalletClosed {
		t.Fatalf("after close: %+v", st)
	}
	if err := r.c.Close(r.ctx, "QR_2"); err != nil {
		t.Fatalf("close again: %v, want nil", err)
	}
	if err := r.sb.Pay(r.ctx, "QR_2"); !errors.Is(err, sbx.ErrTradeClosed) {
		t.Fatalf("customer pays a closed order: %v", err)
	}

	r.precreate(t, "QR_3", 700)
	if err := r.sb.Pay(r.ctx, "QR_3"); err != nil {
		t.Fatal(err)
	}
	r.rec.next(t)
	if err := r.c.Close(r.ctx, "QR_3"); !errors.Is(err, connector.ErrAlreadyPaid) {
		t.Fatalf("close of a paid order: %v, want ErrAlreadyPaid", err)
	}
	if _, err := r.c.Query(r.ctx, "NEVER"); !errors.Is(err, connector.ErrNotFound) {
		t.Fatalf("query of an unknown order: %v", err)
	}
}

func TestBarcodePaidAtOnce(t *testing.T) {
	r := newRig(t)
	st := r.pay(t, "BC_1", goodCode, 9999)
	if st.State != connector.WalletPaid || st.Amount != 9999 || st.TradeNo == "" || st.PaidAt.IsZero() {
		t.Fatalf("pay %+v", st)
	}
	if n := r.rec.next(t); n.State != connector.WalletPaid || n.TradeNo != st.TradeNo || n.Amount != 9999 {
		t.Fatalf("notification %+v", n)
	}
	if q := r.query(t, "BC_1"); q.State != connector.WalletPaid {
		t.Fatalf("query %+v", q)
	}
	// The same out_trade_no again (a retry after a lost answer): the trade's state.
	if again := r.pay(t, "BC_1", goodCode, 9999); again.State != connector.WalletPaid || again.TradeNo != st.TradeNo {
		t.Fatalf("pay replayed: %+v", again)
	}
	// Paid already, whatever the new amount says: the trade's own amount comes back.
	if again := r.pay(t, "BC_1", goodCode, 1); again.State != connector.WalletPaid || again.Amount != 9999 {
		t.Fatalf("pay of a paid out_trade_no: %+v", again)
	}
}

func TestBarcodeConfirmOnPhone(t *testing.T) {
	r := newRig(t)
	if err := r.sb.NextPay(sbx.PayOutcome{Mode: sbx.NeedsConfirm}); err != nil {
		t.Fatal(err)
	}
	st := r.pay(t, "BC_2", goodCode, 2500)
	if st.State != connector.WalletPaying || st.TradeNo == "" || st.Amount != 2500 {
		t.Fatalf("pay: %+v, want PAYING", st)
	}
	if q := r.query(t, "BC_2"); q.State != connector.WalletPaying {
		t.Fatalf("query while the customer confirms: %+v, want PAYING", q)
	}
	if err := r.sb.Confirm(r.ctx, "BC_2"); err != nil {
		t.Fatal(err)
	}
	if q := r.query(t, "BC_2"); q.State != connector.WalletPaid || q.Amount != 2500 {
		t.Fatalf("query after confirmation: %+v", q)
	}
	if n := r.rec.next(t); n.State != connector.WalletPaid {
		t.Fatalf("notification %+v", n)
	}
}

func TestBarcodeReverseWhileConfirming(t *testing.T) {
	r := newRig(t)
	r.sb.NextPay(sbx.PayOutcome{Mode: sbx.NeedsConfirm})
	if st := r.pay(t, "BC_3", goodCode, 4200); st.State != connector.WalletPaying {
		t.Fatalf("pay %+v", st)
	}
	if rv, err := r.c.Reverse(r.ctx, "BC_3"); err != nil || rv.Refunded {
		t.Fatalf("reverse: %+v, %v (nothing had been paid)", rv, err)
	}
	if q := r.query(t, "BC_3"); q.State != connector.WalletClosed || q.Refunded {
		t.Fatalf("after reverse: %+v", q)
	}
	tr, _ := r.sb.Trade("BC_3")
	if tr.Paid != "" || tr.Refunded != 0 || tr.CancelAction != "close" {
		t.Fatalf("something was charged: %+v", tr)
	}
	if _, err := r.c.Reverse(r.ctx, "BC_3"); err != nil {
		t.Fatalf("reverse again: %v", err)
	}
	if err := r.sb.Confirm(r.ctx, "BC_3"); err == nil {
		t.Fatal("the customer confirmed a reversed payment")
	}
	if n := r.rec.next(t); n.State != connector.WalletClosed || n.OutTradeNo != "BC_3" {
		t.Fatalf("notification %+v", n)
	}
}

func TestBarcodeAnswerLostThenReversed(t *testing.T) {
	r := newRig(t)
	r.sb.Inject(sbx.Fault{Method: sbx.MethodPay, Answer: sbx.AnswerLost})
	_, err := r.c.Pay(r.ctx, connector.BarcodePay{OutTradeNo: "BC_4", AuthCode: goodCode, Amount: 1500, Subject: "x"})
	if !errors.Is(err, connector.ErrUnknownOutcome) {
		t.Fatalf("pay with a lost answer: %v, want ErrUnknownOutcome", err)
	}
	if q := r.query(t, "BC_4"); q.State != connector.WalletPaid {
		t.Fatalf("query after the lost answer: %+v (the pay took effect)", q)
	}
	if rv, err := r.c.Reverse(r.ctx, "BC_4"); err != nil || !rv.Refunded {
		t.Fatalf("reverse of a paid trade: %+v, %v (want the refund said)", rv, err)
	}
	if q := r.query(t, "BC_4"); q.State != connector.WalletClosed || !q.Refunded {
		t.Fatalf("after reverse: %+v", q)
	}
	if tr, _ := r.sb.Trade("BC_4"); tr.Refunded != 1500 || tr.CancelAction != "refund" {
		t.Fatalf("reverse of a paid trade did not refund it: %+v", tr)
	}

	// A pay that never arrived: the reversal spends the out_trade_no.
	if _, err := r.c.Reverse(r.ctx, "BC_5"); err != nil {
		t.Fatalf("reverse of a trade Alipay never saw: %v", err)
	}
	if st := r.pay(t, "BC_5", goodCode, 1500); st.State != connector.WalletClosed {
		t.Fatalf("pay after its reversal: %+v, want CLOSED", st)
	}
}

func TestBarcodeDeclined(t *testing.T) {
	r := newRig(t)
	r.sb.NextPay(sbx.PayOutcome{Mode: sbx.Declined, SubCode: "ACQ.BUYER_BALANCE_NOT_ENOUGH"})
	st := r.pay(t, "BC_6", goodCode, 800)
	if st.State != connector.WalletDeclined || st.Reason != "ACQ.BUYER_BALANCE_NOT_ENOUGH: 买家余额不足" {
		t.Fatalf("declined: %+v", st)
	}
	if _, err := r.c.Query(r.ctx, "BC_6"); !errors.Is(err, connector.ErrNotFound) {
		t.Fatalf("query of a declined payment: %v", err)
	}
	if st := r.pay(t, "BC_7", "1234", 800); st.State != connector.WalletDeclined ||
		!strings.HasPrefix(st.Reason, "ACQ.PAYMENT_AUTH_CODE_INVALID: ") {
		t.Fatalf("bad payment code: %+v", st)
	}
	r.sb.SetAuthCode("300000000000000001", sbx.PayOutcome{Mode: sbx.Declined, SubCode: "ACQ.PAYMENT_REQUEST_HAS_RISK"})
	if st := r.pay(t, "BC_8", "300000000000000001", 800); st.Reason != "ACQ.PAYMENT_REQUEST_HAS_RISK: 支付有风险" {
		t.Fatalf("declined for that code: %+v", st)
	}
	if st := r.pay(t, "BC_9", goodCode, 800); st.State != connector.WalletPaid {
		t.Fatalf("the next payment: %+v", st)
	}
	if st := r.pay(t, "BC_6", goodCode, 800); st.State != connector.WalletPaid {
		t.Fatalf("a declined out_trade_no tried again: %+v", st)
	}

	// The same out_trade_no with another amount is a bug: an error, not a decline.
	_, err := r.c.Pay(r.ctx, connector.BarcodePay{OutTradeNo: "BC_10", AuthCode: goodCode, Amount: 100, Subject: "x"})
	if err != nil {
		t.Fatal(err)
	}
	r.sb.NextPay(sbx.PayOutcome{Mode: sbx.NeedsConfirm})
	r.pay(t, "BC_11", goodCode, 100)
	_, err = r.c.Pay(r.ctx, connector.BarcodePay{OutTradeNo: "BC_11", AuthCode: goodCode, Amount: 200, Subject: "x"})
	var ae *APIError
	if !errors.As(err, &ae) || ae.SubCode != "ACQ.CONTEXT_INCONSISTENT" || errors.Is(err, connector.ErrUnknownOutcome) {
		t.Fatalf("pay with another amount: %v", err)
	}
}

func TestRefunds(t *testing.T) {
	r := newRig(t)
	r.pay(t, "RF_1", goodCode, 10000)
	refund := func(no string, amount int64) connector.RefundResult {
		t.Helper()
		res, err := r.c.Refund(r.ctx, connector.Refund{OutTradeNo: "RF_1", OutRefundNo: no, Amount: amount, Total: 10000, Reason: "退货"})
		if err != nil {
			t.Fatalf("refund %s: %v", no, err)
		}
		return res
	}
	if res := refund("RF_1_a", 3000); res.State != connector.RefundSuccess || res.Amount != 3000 || res.Refunded != 3000 {
		t.Fatalf("first partial refund: %+v", res)
	}
	if res := refund("RF_1_b", 2000); res.Refunded != 5000 || res.Amount != 2000 {
		t.Fatalf("second partial refund: %+v", res)
	}
	if q := r.query(t, "RF_1"); q.State != connector.WalletPaid {
		t.Fatalf("after partial refunds: %+v, want still PAID", q)
	}
	// A retry of the first: nothing moves twice.
	if res := refund("RF_1_a", 3000); res.State != connector.RefundSuccess || res.Amount != 3000 || res.Refunded != 5000 {
		t.Fatalf("retried refund: %+v", res)
	}
	if tr, _ := r.sb.Trade("RF_1"); tr.Refunded != 5000 || len(tr.Refunds) != 2 {
		t.Fatalf("sandbox after the retry: %+v", tr)
	}
	_, err := r.c.Refund(r.ctx, connector.Refund{OutTradeNo: "RF_1", OutRefundNo: "RF_1_x", Amount: 5001})
	var ae *APIError
	if !errors.As(err, &ae) || ae.SubCode != "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL" {
		t.Fatalf("refund beyond the rest: %v", err)
	}
	if res := refund("RF_1_c", 5000); res.Refunded != 10000 {
		t.Fatalf("full refund: %+v", res)
	}
	if q := r.query(t, "RF_1"); q.State != connector.WalletClosed {
		t.Fatalf("after the full refund: %+v, want CLOSED", q)
	}
	if res := refund("RF_1_c", 5000); res.State != connector.RefundSuccess || res.Refunded != 10000 {
		t.Fatalf("full refund retried: %+v", res)
	}

	q, err := r.c.QueryRefund(r.ctx, "RF_1", "RF_1_b")
	if err != nil || q.State != connector.RefundSuccess || q.Amount != 2000 || q.OutRefundNo != "RF_1_b" {
		t.Fatalf("refund query: %+v, %v", q, err)
	}
	if _, err := r.c.QueryRefund(r.ctx, "RF_1", "RF_1_never"); !errors.Is(err, connector.ErrNotFound) {
		t.Fatalf("query of a refund never made: %v", err)
	}
	if _, err := r.c.Refund(r.ctx, connector.Refund{OutTradeNo: "NOPE", OutRefundNo: "x", Amount: 1}); !errors.Is(err, connector.ErrNotFound) {
		t.Fatalf("refund of an unknown order: %v", err)
	}
	// Refunds are notified by Alipay; they are acknowledged, not taken for payments.
	r.rec.next(t) // the payment
	r.rec.none(t, 300*time.Millisecond)
	r.deliveries(t, func(ds []sbx.Delivery) bool {
		acked := 0
		for _, d := range ds {
			if d.RefundFee != "" && d.Acked {
				acked++
			}
		}
		return acked == 3
	})
}

func TestUnknownOutcomes(t *testing.T) {
	r := newRig(t, func(c *Config, _ *sbx.Options) { c.Timeout = 200 * time.Millisecond })
	unknown := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, connector.ErrUnknownOutcome) {
			t.Fatalf("%s: %v, want ErrUnknownOutcome", what, err)
		}
	}
	r.pay(t, "UK_1", goodCode, 100)

	r.sb.Inject(sbx.Fault{Method: sbx.MethodQuery, Answer: sbx.Answer20000})
	_, err := r.c.Query(r.ctx, "UK_1")
	unknown("query answered 20000", err)

	r.sb.Inject(sbx.Fault{Method: sbx.MethodPay, Answer: sbx.AnswerSystemError})
	_, err = r.c.Pay(r.ctx, connector.BarcodePay{OutTradeNo: "UK_2", AuthCode: goodCode, Amount: 100, Subject: "x"})
	unknown("pay answered ACQ.SYSTEM_ERROR", err)
	if _, err := r.c.Query(r.ctx, "UK_2"); !errors.Is(err, connector.ErrNotFound) {
		t.Fatalf("that pay did nothing: %v", err)
	}

	r.sb.Inject(sbx.Fault{Method: sbx.MethodPay, Answer: sbx.Answer20000, Applied: true})
	_, err = r.c.Pay(r.ctx, connector.BarcodePay{OutTradeNo: "UK_3", AuthCode: goodCode, Amount: 100, Subject: "x"})
	unknown("pay applied, answered 20000", err)
	if q := r.query(t, "UK_3"); q.State != connector.WalletPaid {
		t.Fatalf("that pay took effect: %+v", q)
	}

	r.sb.Inject(sbx.Fault{Method: sbx.MethodQuery, Answer: sbx.AnswerBadSign})
	_, err = r.c.Query(r.ctx, "UK_1")
	unknown("answer signed with a wrong key", err)

	r.sb.Inject(sbx.Fault{Method: sbx.MethodPrecreate, Delay: 600 * time.Millisecond})
	_, err = r.c.Precreate(r.ctx, connector.Precreate{OutTradeNo: "UK_4", Amount: 100, Subject: "x"})
	unknown("precreate that timed out", err)

	r.sb.Inject(sbx.Fault{Method: sbx.MethodCancel, Answer: sbx.AnswerSystemError})
	_, err = r.c.Reverse(r.ctx, "UK_3")
	unknown("cancel answered ACQ.SYSTEM_ERROR with retry_flag Y", err)
	if _, err := r.c.Reverse(r.ctx, "UK_3"); err != nil {
		t.Fatalf("cancel repeated: %v", err)
	}

	r.sb.Inject(sbx.Fault{Method: sbx.MethodRefund, Answer: sbx.AnswerLost})
	_, err = r.c.Refund(r.ctx, connector.Refund{OutTradeNo: "UK_1", OutRefundNo: "UK_1_r", Amount: 40})
	unknown("refund with a lost answer", err)
	res, err := r.c.Refund(r.ctx, connector.Refund{OutTradeNo: "UK_1", OutRefundNo: "UK_1_r", Amount: 40})
	if err != nil || res.State != connector.RefundSuccess || res.Refunded != 40 {
		t.Fatalf("refund retried after a lost answer: %+v, %v", res, err)
	}
	calls := r.sb.Calls()
	if calls[sbx.MethodPay] != 3 || calls[sbx.MethodRefund] != 2 || calls[sbx.MethodCancel] != 2 {
		t.Fatalf("calls %v", calls)
	}
}

func TestResponseSignedWithWrongKeyRejected(t *testing.T) {
	keys(t)
	r := newRig(t, func(c *Config, _ *sbx.Options) { c.AlipayPublicKeyPEM = pubPEM(&strangerKey.PublicKey) })
	_, err := r.c.Query(r.ctx, "ANY")
	if !errors.Is(err, connector.ErrUnknownOutcome) || !strings.Contains(err.Error(), "verification") {
		t.Fatalf("answer signed by a key we do not trust: %v", err)
	}
	_, err = r.c.Pay(r.ctx, connector.BarcodePay{OutTradeNo: "WK_1", AuthCode: goodCode, Amount: 100, Subject: "x"})
	if !errors.Is(err, connector.ErrUnknownOutcome) {
		t.Fatalf("pay: %v", err)
	}
}

func TestRequestSignedWithOtherKeyRefused(t *testing.T) {
	keys(t)
	r := newRig(t, func(c *Config, _ *sbx.Options) { c.PrivateKeyPEM = privPEM(strangerKey) })
	_, err := r.c.Query(r.ctx, "ANY")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "40002" || ae.SubCode != "isv.invalid-signature" {
		t.Fatalf("request signed with a key Alipay does not know: %v", err)
	}
	if errors.Is(err, connector.ErrUnknownOutcome) {
		t.Fatalf("a refused request has a known outcome: %v", err)
	}
	if r.sb.Calls()[sbx.MethodQuery] != 1 {
		t.Fatalf("calls %v", r.sb.Calls())
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	keys(t)
	good := Config{AppID: appID, PrivateKeyPEM: privPEM(appKey), AlipayPublicKeyPEM: pubPEM(&alipayKey.PublicKey)}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no app id", func(c *Config) { c.AppID = "" }, "AppID"},
		{"no private key", func(c *Config) { c.PrivateKeyPEM = nil }, "PrivateKeyPEM"},
		{"garbage key", func(c *Config) { c.PrivateKeyPEM = []byte("-----BEGIN RSA PRIVATE KEY-----\nxx") }, "PrivateKeyPEM"},
		{"public for private", func(c *Config) { c.PrivateKeyPEM = pubPEM(&appKey.PublicKey) }, "not a private key"},
		{"private for public", func(c *Config) { c.AlipayPublicKeyPEM = privPEM(alipayKey) }, "AlipayPublicKeyPEM"},
		{"own public key", func(c *Config) { c.AlipayPublicKeyPEM = pubPEM(&appKey.PublicKey) }, "app's own public key"},
		{"bad gateway", func(c *Config) { c.Gateway = "openapi.alipay.com" }, "Gateway"},
		{"bad notify url", func(c *Config) { c.NotifyURL = "ftp://x" }, "NotifyURL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.edit(&cfg)
			_, err := New(cfg, quiet)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error about %s", err, tc.want)
			}
		})
	}
	// The bare base64 the Alipay key tool prints is taken too.
	cfg := good
	cfg.PrivateKeyPEM = []byte(strings.Join(strings.Split(string(privPEM(appKey)), "\n")[1:], ""))
	cfg.PrivateKeyPEM = []byte(strings.TrimSuffix(string(cfg.PrivateKeyPEM), "-----END RSA PRIVATE KEY-----"))
	if _, err := New(cfg, quiet); err != nil {
		t.Fatalf("bare base64 key: %v", err)
	}
}
