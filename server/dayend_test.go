package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/demo/standins"
	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/dayend"
	"github.com/multipos/multipos/server/reconcile"
	"github.com/multipos/multipos/server/store"
	"github.com/multipos/multipos/server/store/storetest"
)

// onRealTime is onProtocols with the server on the real clock: the
// sandboxes keep real time, and a bill's day must be the journal's.
func onRealTime(t *testing.T, f func(t *testing.T, r *rig, sb *standins.Wallets)) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		late := &lateNotifier{}
		notify := httptest.NewServer(nil)
		t.Cleanup(notify.Close)
		var sb *standins.Wallets
		r := newRig(t, d, func(o *Options) {
			o.Now = time.Now
			var err error
			sb, err = standins.StartWallets(context.Background(), standins.WalletOptions{NotifyBase: notify.URL,
				Logger: slog.New(slog.DiscardHandler), NotifySchedule: []time.Duration{10 * time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(sb.Close)
			o.Wallets, o.Customer = sb.Connectors(), sb
			o.Confirm = map[api.Channel]ConfirmPolicy{api.Alipay: {Every: 5 * time.Millisecond, Tries: 3},
				api.WeChat: {Every: 5 * time.Millisecond, Tries: 3}}
		})
		late.mu.Lock()
		late.to = r.srv
		late.mu.Unlock()
		notify.Config.Handler = sb.NotifyHandler(late)
		f(t, r, sb)
	})
}

// TestReconcileAlipay reconciles a day of real payments made through the
// server on the Alipay sandbox, with differences planted on both sides:
// a payment matched, one in flight in the journal settled, one made at the
// channel only, one paid in the journal only, one the journal failed that
// the channel kept, a refund made at the channel only. Then a resolution,
// a rerun, the raw bill and the metrics.
func TestReconcileAlipay(t *testing.T) {
	onRealTime(t, func(t *testing.T, r *rig, sb *standins.Wallets) {
		ctx := context.Background()
		day := time.Now().In(DefaultZone()).Format("2006-01-02")
		dir := t.TempDir()
		now := time.Now()
		clock := func() time.Time { return now }
		run, err := dayend.New(dayend.Options{Store: r.st, Sources: []dayend.BillSource{dayend.AlipayBills{Conn: sb.AlipayConn}},
			Dir: filepath.Join(dir, "data"), Zone: DefaultZone(), Owner: "i1", Now: clock})
		if err != nil {
			t.Fatal(err)
		}

		// Matched: paid at once with a payment code.
		paid, err := r.barcode(api.Alipay, "000001", aliCode, 300)
		if err != nil || paid.State != api.StateSuccess {
			t.Fatalf("barcode: %+v %v", paid, err)
		}
		// Safe: the customer pays a QR code; the notification never comes.
		sb.Alipay.HoldNotifications()
		inFlight := r.order(api.Alipay, "000002", 450)
		if err := sb.CustomerPays(ctx, api.Alipay, inFlight.OutTradeNo); err != nil {
			t.Fatal(err)
		}
		// The channel kept money for an order the journal (planted) failed.
		failed := r.order(api.Alipay, "000003", 520)
		if err := sb.CustomerPays(ctx, api.Alipay, failed.OutTradeNo); err != nil {
			t.Fatal(err)
		}
		if _, err := r.st.Transition(ctx, failed.ID, failed.State, failed.Version, store.Change{To: api.StateFailed,
			Reason: "planted", At: time.Now(), Actor: "test"}); err != nil {
			t.Fatal(err)
		}
		// Journal only: a QR order never paid, planted as paid.
		ghost := r.order(api.Alipay, "000004", 610)
		if _, err := r.st.Transition(ctx, ghost.ID, ghost.State, ghost.Version, store.Change{To: api.StateSuccess,
			At: time.Now(), Actor: "test"}); err != nil {
			t.Fatal(err)
		}
		// Channel only: a payment made at the wallet past the server.
		if st, err := sb.AlipayConn.Pay(ctx, connector.BarcodePay{OutTradeNo: "outside_1", AuthCode: aliCode, Amount: 700,
			Subject: "past the till", TerminalID: "T9", StoreID: "S9"}); err != nil || st.State != connector.WalletPaid {
			t.Fatalf("outside payment: %+v %v", st, err)
		}
		// A refund made in the merchant platform, not by the server.
		if _, err := sb.AlipayConn.Refund(ctx, connector.Refund{OutTradeNo: paid.OutTradeNo, OutRefundNo: "byhand1",
			Amount: 100, Total: 300}); err != nil {
			t.Fatal(err)
		}

		// Before the day ends the bill is not cut: the run waits.
		res, err := run.Run(ctx, dayend.Request{Day: day, Channel: reconcile.Alipay})
		if err != nil || res.Run.Status != store.RunWaiting {
			t.Fatalf("before the bill: %+v %v", res.Run, err)
		}
		if res, _ := run.Run(ctx, dayend.Request{Day: day, Channel: reconcile.Alipay}); res.Taken {
			t.Fatalf("retried before due: %+v", res.Run)
		}
		sb.Alipay.Advance(24 * time.Hour)
		now = now.Add(time.Hour)
		res, err = run.Run(ctx, dayend.Request{Day: day, Channel: reconcile.Alipay})
		if err != nil || res.Run.Status != store.RunDone || res.Run.Attempts != 2 {
			t.Fatalf("run: %+v %v", res.Run, err)
		}
		classes := map[string]string{}
		lines, _ := r.st.ReconLines(ctx, res.Run.ID)
		for _, l := range lines {
			key := l.OutTradeNo
			if l.Kind == "refund" {
				key += "/" + l.OutRefundNo
			}
			classes[key] = l.Class + "/" + l.Outcome
		}
		want := map[string]string{
			paid.OutTradeNo:              "matched/",
			inFlight.OutTradeNo:          "state_differs/settled",
			failed.OutTradeNo:            "state_differs/exception",
			ghost.OutTradeNo:             "journal_only/exception",
			"outside_1":                  "channel_only/exception",
			paid.OutTradeNo + "/byhand1": "refund_differs/exception",
		}
		for k, v := range want {
			if classes[k] != v {
				t.Errorf("%s: %q, want %q (all: %v)", k, classes[k], v, classes)
			}
		}
		if got := r.history(inFlight.ID); got[len(got)-1] != api.StateSuccess {
			t.Fatalf("settled order's history: %v", got)
		}
		if h, _ := r.srv.History(ctx, inFlight.ID); h[len(h)-1].Actor != dayend.Actor {
			t.Fatalf("settled by %q", h[len(h)-1].Actor)
		}
		audit, _ := r.st.ReconAuditLog(ctx, day)
		if len(audit) != 1 || audit[0].Action != "settled" || audit[0].TxID != inFlight.ID {
			t.Fatalf("audit: %+v", audit)
		}
		if res.Run.Totals.Payments != 4 || res.Run.Totals.Refunds != 1 || res.Run.Totals.Gross != 300+450+520+700 ||
			res.Run.Totals.Net != res.Run.Totals.Settled-res.Run.Totals.Refunded-res.Run.Totals.Fees {
			t.Errorf("totals: %+v", res.Run.Totals)
		}
		checkKept(t, res.Run, dir)

		open, _ := r.st.Exceptions(ctx, false)
		if len(open) != 4 {
			t.Fatalf("open exceptions: %+v", open)
		}
		if _, err := r.st.ResolveException(ctx, open[0].ID, "ops", "checked with the store", time.Now()); err != nil {
			t.Fatal(err)
		}
		checkGauge(t, r.st, "multipos_reconcile_open_exceptions", "alipay", 3)

		// The daily run does not run a day done; a rerun by hand replaces
		// the lines, keeps the resolution, and finds the settled order paid.
		if res, _ := run.Run(ctx, dayend.Request{Day: day, Channel: reconcile.Alipay}); res.Taken {
			t.Fatal("a done day taken by the daily run")
		}
		res, err = run.Run(ctx, dayend.Request{Day: day, Channel: reconcile.Alipay, Force: true})
		if err != nil || res.Run.Status != store.RunDone || res.Run.Settled != 0 || res.Run.Differences != 4 {
			t.Fatalf("rerun: %+v %v", res.Run, err)
		}
		all, _ := r.st.Exceptions(ctx, true)
		if len(all) != 4 {
			t.Fatalf("exceptions after the rerun: %+v", all)
		}
		for _, e := range all {
			if (e.ID == open[0].ID) != (e.State == store.ExceptionResolved) {
				t.Errorf("after the rerun: %+v", e)
			}
		}
		checkGauge(t, r.st, "multipos_reconcile_open_exceptions", "alipay", 3)
		if rep, err := r.st.DailyReport(ctx, day); err != nil || len(rep) != 2 || rep[1].MerchantID != m1 || rep[1].Payments != 3 || rep[1].Refunds != 1 {
			t.Fatalf("daily report: %+v %v", rep, err)
		}
	})
}

// checkKept checks the bill was kept as received: 0600 in 0700 folders,
// its hash as recorded.
func checkKept(t *testing.T, run store.ReconRun, dir string) {
	t.Helper()
	fi, err := os.Stat(run.BillPath)
	if err != nil || fi.Mode().Perm() != 0o600 || run.BillSHA256 == "" || run.Source != "fetched" {
		t.Fatalf("bill kept at %q: %v %v (%+v)", run.BillPath, fi, err, run)
	}
	for d := filepath.Dir(run.BillPath); d != dir; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err != nil || fi.Mode().Perm() != 0o700 {
			t.Fatalf("folder %s: %v %v", d, fi, err)
		}
	}
}

func checkGauge(t *testing.T, st *store.Store, name, channel string, want float64) {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(&dayend.Collector{Store: st, Channels: []string{"alipay", "wechat"}})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "channel" && l.GetValue() == channel {
					if got := m.GetGauge().GetValue(); got != want {
						t.Fatalf("%s{channel=%s} = %v, want %v", name, channel, got, want)
					}
					return
				}
			}
		}
	}
	t.Fatal(errors.New(name + " not found"))
}
