package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/demo/standins"
	"github.com/multipos/multipos/sandbox/acquirer"
	alisbx "github.com/multipos/multipos/sandbox/alipay"
	wxsbx "github.com/multipos/multipos/sandbox/wechat"
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

// planter is a wallet sandbox's hold on notifications, its clock and its
// bill planting, the same on both.
type planter struct {
	ch      api.Channel
	code    string
	hold    func()
	advance func(time.Duration)
	// plant: kind is drop, amount, refund or unknown_payment.
	plant func(kind, day, outTradeNo string, amount int64) error
}

func planters(sb *standins.Wallets) []planter {
	return []planter{
		{ch: api.Alipay, code: aliCode, hold: sb.Alipay.HoldNotifications, advance: sb.Alipay.Advance,
			plant: func(kind, day, no string, amount int64) error {
				return sb.Alipay.PlantInBill(alisbx.BillChange{Kind: alisbx.BillChangeKind(kind), Day: day, OutTradeNo: no, Amount: amount})
			}},
		{ch: api.WeChat, code: wxCode, hold: sb.WeChat.HoldNotifications, advance: sb.WeChat.Advance,
			plant: func(kind, day, no string, amount int64) error {
				return sb.WeChat.PlantInBill(wxsbx.BillChange{Kind: wxsbx.BillChangeKind(kind), Day: day, OutTradeNo: no, Amount: amount})
			}},
	}
}

// TestReconcileWallets reconciles a day of real payments made through the
// server on each wallet's sandbox, every difference class planted with
// the sandboxes' bill controls (and one on the journal's side): a payment
// matched; one in flight in the journal, settled; one the journal failed
// that the channel kept; one left out of the bill; one billed for another
// amount; one made at the channel only; a refund made in the merchant
// portal. Then a bill not ready, a resolution, a rerun, the raw bill and
// the gauges.
func TestReconcileWallets(t *testing.T) {
	onRealTime(t, func(t *testing.T, r *rig, sb *standins.Wallets) {
		day := time.Now().In(DefaultZone()).Format("2006-01-02")
		now := time.Now()
		run, err := dayend.New(dayend.Options{Store: r.st, Sources: []dayend.BillSource{dayend.AlipayBills{Conn: sb.AlipayConn},
			dayend.WeChatBills{Conn: sb.WeChatConn}}, Dir: filepath.Join(t.TempDir(), "bills"), Zone: DefaultZone(), Owner: "i1",
			Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range planters(sb) {
			t.Run(string(p.ch), func(t *testing.T) {
				reconcileWallet(t, r, sb, run, p, day, i)
			})
		}
		checkGauge(t, r.st, "multipos_reconcile_open_exceptions", "alipay", 4)
		checkGauge(t, r.st, "multipos_reconcile_open_exceptions", "wechat", 4)
	})
}

func reconcileWallet(t *testing.T, r *rig, sb *standins.Wallets, run *dayend.Runner, p planter, day string, n int) {
	ctx := context.Background()
	tr := func(i int) string { return fmt.Sprintf("%d0000%d", n+1, i) }
	pay := func(i int, amount int64) api.Order {
		o, err := r.barcode(p.ch, tr(i), p.code, amount)
		if err != nil || o.State != api.StateSuccess {
			t.Fatalf("barcode: %+v %v", o, err)
		}
		return o
	}
	plant := func(kind, no string, amount int64) {
		if err := p.plant(kind, day, no, amount); err != nil {
			t.Fatalf("plant %s %s: %v", kind, no, err)
		}
	}
	paid, dropped, other := pay(1, 300), pay(2, 310), pay(3, 320)
	plant("drop", dropped.OutTradeNo, 0)
	plant("amount", other.OutTradeNo, 330)
	plant("refund", paid.OutTradeNo, 100)
	plant("unknown_payment", "outside"+tr(0), 700)
	// Safe: the customer pays a QR code; the notification never comes.
	p.hold()
	inFlight := r.order(p.ch, tr(4), 450)
	if err := sb.CustomerPays(ctx, p.ch, inFlight.OutTradeNo); err != nil {
		t.Fatal(err)
	}
	// The channel kept money for an order the journal (planted) failed.
	failed := r.order(p.ch, tr(5), 520)
	if err := sb.CustomerPays(ctx, p.ch, failed.OutTradeNo); err != nil {
		t.Fatal(err)
	}
	if _, err := r.st.Transition(ctx, failed.ID, failed.State, failed.Version, store.Change{To: api.StateFailed,
		Reason: "planted", At: time.Now(), Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	ch := reconcile.Channel(p.ch)

	// Before the day's bill is cut the run waits, and is not retried early.
	res, err := run.Run(ctx, dayend.Request{Day: day, Channel: ch})
	if err != nil || res.Run.Status != store.RunWaiting {
		t.Fatalf("before the bill: %+v %v", res.Run, err)
	}
	if res, _ := run.Run(ctx, dayend.Request{Day: day, Channel: ch}); res.Taken {
		t.Fatalf("retried before due: %+v", res.Run)
	}
	p.advance(36 * time.Hour)
	res, err = run.Run(ctx, dayend.Request{Day: day, Channel: ch, Bill: nil, Force: false})
	if err != nil || res.Taken {
		t.Fatalf("retried before due, bill ready: %+v %v", res.Run, err)
	}
	res, err = run.Run(ctx, dayend.Request{Day: day, Channel: ch, Force: true})
	if err != nil || res.Run.Status != store.RunDone || res.Run.Attempts != 2 {
		t.Fatalf("run: %+v %v", res.Run, err)
	}
	lines, _ := r.st.ReconLines(ctx, res.Run.ID)
	classes, refunds := map[string]string{}, 0
	for _, l := range lines {
		if l.Kind == "refund" {
			refunds++
			if l.Class != "refund_differs" || l.OutTradeNo != paid.OutTradeNo {
				t.Errorf("refund line: %+v", l)
			}
			continue
		}
		classes[l.OutTradeNo] = l.Class + "/" + l.Outcome
	}
	want := map[string]string{
		paid.OutTradeNo:     "matched/",
		inFlight.OutTradeNo: "state_differs/settled",
		failed.OutTradeNo:   "state_differs/exception",
		dropped.OutTradeNo:  "journal_only/exception",
		other.OutTradeNo:    "amount_differs/exception",
		"outside" + tr(0):   "channel_only/exception",
	}
	for k, v := range want {
		if classes[k] != v {
			t.Errorf("%s: %q, want %q (all: %v)", k, classes[k], v, classes)
		}
	}
	if refunds != 1 {
		t.Errorf("%d refund lines", refunds)
	}
	if h, _ := r.srv.History(ctx, inFlight.ID); h[len(h)-1].To != api.StateSuccess || h[len(h)-1].Actor != dayend.Actor {
		t.Fatalf("settled order's history: %+v", h)
	}
	audit, _ := r.st.ReconAuditLog(ctx, day)
	settled := 0
	for _, a := range audit {
		if a.Channel == string(ch) && a.Action == "settled" && a.TxID == inFlight.ID {
			settled++
		}
	}
	if settled != 1 {
		t.Fatalf("audit: %+v", audit)
	}
	tot := res.Run.Totals
	if tot.Payments != 5 || tot.Refunds != 1 || tot.Gross != 300+330+450+520+700 || tot.Net != tot.Settled-tot.Refunded-tot.Fees {
		t.Errorf("totals: %+v", tot)
	}
	checkKept(t, res.Run)

	open, _ := r.st.DayExceptions(ctx, day, string(ch))
	if len(open) != 5 {
		t.Fatalf("exceptions: %+v", open)
	}
	if _, err := r.st.ResolveException(ctx, open[0].ID, "ops", "checked with the store", time.Now()); err != nil {
		t.Fatal(err)
	}
	// The daily run leaves a day done; a rerun by hand replaces the
	// lines, keeps the resolution, and finds the settled order paid.
	if res, _ := run.Run(ctx, dayend.Request{Day: day, Channel: ch}); res.Taken {
		t.Fatal("a done day taken by the daily run")
	}
	res, err = run.Run(ctx, dayend.Request{Day: day, Channel: ch, Force: true})
	if err != nil || res.Run.Status != store.RunDone || res.Run.Settled != 0 || res.Run.Differences != 5 || res.Run.Matched != 2 {
		t.Fatalf("rerun: %+v %v", res.Run, err)
	}
	all, _ := r.st.DayExceptions(ctx, day, string(ch))
	for _, e := range all {
		if (e.ID == open[0].ID) != (e.State == store.ExceptionResolved) {
			t.Errorf("after the rerun: %+v", e)
		}
	}
	if len(all) != 5 {
		t.Fatalf("exceptions after the rerun: %+v", all)
	}
	rep, err := r.st.DailyReport(ctx, day)
	if err != nil || len(rep) < 2 {
		t.Fatalf("daily report: %+v %v", rep, err)
	}
}

// checkKept checks the bill was kept as received: 0600 in 0700 folders,
// its hash as recorded.
func checkKept(t *testing.T, run store.ReconRun) {
	t.Helper()
	dir := filepath.Dir(filepath.Dir(filepath.Dir(run.BillPath)))
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

// TestReconcileCards reconciles a day of card sales made through the
// server against the stand-in acquirer's settlement file, imported as a
// clerk would: one sale matched, one the file lists for another amount
// (planted with the acquirer's file control), an exception: card
// differences are never settled automatically.
func TestReconcileCards(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		day := r.clock.Now().In(DefaultZone()).Format("2006-01-02")
		var sold []api.Order
		for i, amount := range []int64{800, 900} {
			o, err := r.sell(r.cardSale("approved", "123456", "T1", fmt.Sprintf("00000%d", i+1), amount))
			if err != nil || o.State != api.StateSuccess {
				t.Fatalf("sale: %+v %v", o, err)
			}
			sold = append(sold, o)
		}
		other := int64(990)
		if err := r.bank.EditFileLine(acquirer.FileEdit{TerminalID: "T1", MerchantID: m1, Batch: sold[1].Batch,
			Trace: sold[1].Trace, Amount: &other}); err != nil {
			t.Fatal(err)
		}
		r.clock.Advance(2 * time.Hour) // the acquirer's day cut
		raw, ok := r.bank.SettlementFileData(r.clock.Now().Add(-2 * time.Hour))
		if !ok {
			t.Fatal("no settlement file after the day cut")
		}
		run, err := dayend.New(dayend.Options{Store: r.st, Sources: []dayend.BillSource{dayend.CardBills{}},
			Dir: t.TempDir(), Zone: DefaultZone(), Owner: "i1", Now: r.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		if ch, err := run.Recognise(raw); err != nil || ch != reconcile.Card {
			t.Fatalf("recognised as %q: %v", ch, err)
		}
		res, err := run.Run(ctx, dayend.Request{Day: day, Channel: reconcile.Card, Bill: raw, Force: true})
		if err != nil || res.Run.Status != store.RunDone || res.Run.Source != "imported" {
			t.Fatalf("run: %+v %v", res.Run, err)
		}
		lines, _ := r.st.ReconLines(ctx, res.Run.ID)
		got := map[string]string{}
		for _, l := range lines {
			got[l.TxID] = l.Class + "/" + l.Outcome
		}
		if got[sold[0].ID] != "matched/" || got[sold[1].ID] != "amount_differs/exception" {
			t.Fatalf("card lines: %v (%+v)", got, lines)
		}
		if res.Run.Totals.Payments != 2 || res.Run.Totals.Gross != 800+990 {
			t.Errorf("totals: %+v", res.Run.Totals)
		}
		exs, _ := r.st.DayExceptions(ctx, day, "card")
		if len(exs) != 1 || exs[0].OutTradeNo != "T1/"+sold[1].Batch+"/"+sold[1].Trace {
			t.Fatalf("card exceptions: %+v", exs)
		}
	})
}

// TestDailyReconcile: the daily run starts at its time of day in the
// business zone, reconciles yesterday, and runs once across instances.
func TestDailyReconcile(t *testing.T) {
	onRealTime(t, func(t *testing.T, r *rig, sb *standins.Wallets) {
		ctx := context.Background()
		if _, err := r.barcode(api.Alipay, "000001", aliCode, 300); err != nil {
			t.Fatal(err)
		}
		day := time.Now().In(DefaultZone()).Format("2006-01-02")
		sb.Alipay.Advance(36 * time.Hour)
		tomorrow, _ := time.ParseInLocation("2006-01-02", day, DefaultZone())
		tomorrow = tomorrow.AddDate(0, 0, 1)
		at, on, err := dayend.ParseAt(dayend.DefaultAt)
		if err != nil || !on || at != 10*time.Hour+30*time.Minute {
			t.Fatalf("ParseAt: %v %v %v", at, on, err)
		}
		if _, on, _ := dayend.ParseAt("off"); on {
			t.Fatal("off is on")
		}
		now := tomorrow.Add(10 * time.Hour)
		var runners []*dayend.Runner
		for _, owner := range []string{"i1", "i2"} {
			run, err := dayend.New(dayend.Options{Store: r.st, Sources: []dayend.BillSource{dayend.AlipayBills{Conn: sb.AlipayConn}},
				Dir: t.TempDir(), Zone: DefaultZone(), Owner: owner, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			runners = append(runners, run)
		}
		runners[0].DueRuns(ctx, at)
		if _, err := r.st.ReconRun(ctx, day, "alipay"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("ran before 10:30: %v", err)
		}
		now = tomorrow.Add(10*time.Hour + 31*time.Minute)
		runners[0].DueRuns(ctx, at)
		runners[1].DueRuns(ctx, at)
		got, err := r.st.ReconRun(ctx, day, "alipay")
		if err != nil || got.Status != store.RunDone || got.Attempts != 1 || got.Owner != "i1" || got.Matched != 1 {
			t.Fatalf("daily run: %+v %v", got, err)
		}
		checkGauge(t, r.st, "multipos_reconcile_open_exceptions", "alipay", 0)
	})
}
