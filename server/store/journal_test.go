package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/server/store"
	"github.com/multipos/multipos/server/store/storetest"
)

func TestCreateAndRead(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		if st.Dialect() != d {
			t.Fatalf("dialect %s, want %s", st.Dialect(), d)
		}
		n := walletTx("T1", "000001", 1234)
		n.Order.CreatedAt = t0.In(time.FixedZone("CST", 8*3600))
		o := mustCreate(t, st, n)

		if o.ID == "" || o.SaleID == "" || o.ID == o.SaleID {
			t.Fatalf("ids: transaction %q, sale %q", o.ID, o.SaleID)
		}
		if o.State != api.StateCreated || o.Version != 1 {
			t.Errorf("created %s v%d, want CREATED v1", o.State, o.Version)
		}
		if o.TerminalID != "T1" || o.Trace != "000001" || o.Channel != api.Alipay || o.Kind != api.KindWalletQR ||
			o.Amount != 1234 || o.OutTradeNo != "T1-000001" || o.Reason != "" {
			t.Errorf("created %+v", o)
		}
		want := us(t0)
		if o.CreatedAt != want || o.UpdatedAt != want {
			t.Errorf("times %v / %v, want %v (µs, UTC)", o.CreatedAt, o.UpdatedAt, want)
		}
		if o.CreatedAt.Nanosecond()%1000 != 0 || o.CreatedAt.Location() != time.UTC {
			t.Errorf("created at %v keeps more than microseconds or is not UTC", o.CreatedAt)
		}

		if got := mustGet(t, st, o.ID); got != o {
			t.Errorf("get = %+v\nwant %+v", got, o)
		}
		if got, err := st.ByTrace(ctx, "T1", "", "000001"); err != nil || got != o {
			t.Errorf("by trace = %+v, %v", got, err)
		}
		if got, err := st.ByOutTradeNo(ctx, api.Alipay, "T1-000001"); err != nil || got != o {
			t.Errorf("by out_trade_no = %+v, %v", got, err)
		}
		sale, err := st.BySale(ctx, o.SaleID)
		if err != nil || len(sale) != 1 || sale[0] != o {
			t.Errorf("by sale = %+v, %v", sale, err)
		}

		for name, err := range map[string]error{
			"get unknown":              getErr(st.Get(ctx, "tx-nope")),
			"trace of another term":    getErr(st.ByTrace(ctx, "T2", "", "000001")),
			"unknown trace":            getErr(st.ByTrace(ctx, "T1", "", "000002")),
			"out_trade_no on wechat":   getErr(st.ByOutTradeNo(ctx, api.WeChat, "T1-000001")),
			"unknown out_trade_no":     getErr(st.ByOutTradeNo(ctx, api.Alipay, "T1-000002")),
			"empty out_trade_no (all)": getErr(st.ByOutTradeNo(ctx, api.Card, "")),
		} {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: %v, want ErrNotFound", name, err)
			}
		}
		if sale, err := st.BySale(ctx, "sa-nope"); err != nil || len(sale) != 0 {
			t.Errorf("unknown sale = %+v, %v", sale, err)
		}

		h, err := st.History(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantH := []store.Transition{{Seq: 1, From: "", To: api.StateCreated, Actor: "terminal", At: want}}
		if !equalHistory(h, wantH) {
			t.Errorf("history %+v\nwant %+v", h, wantH)
		}
	})
}

func getErr(_ api.Order, err error) error { return err }

func equalHistory(a, b []store.Transition) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Seq != b[i].Seq || a[i].From != b[i].From || a[i].To != b[i].To || a[i].Reason != b[i].Reason ||
			a[i].Actor != b[i].Actor || !a[i].At.Equal(b[i].At) {
			return false
		}
	}
	return true
}

func TestCreateCards(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		// Card attempts have no out_trade_no: any number of them may coexist.
		a := mustCreate(t, st, cardTx("T1", "000001", 100))
		b := mustCreate(t, st, cardTx("T1", "000002", 200))
		for _, o := range []api.Order{a, b} {
			got := mustGet(t, st, o.ID)
			if got.MaskedPAN != "622202******1234" || got.Entry != "chip" || got.OutTradeNo != "" || got.Channel != api.Card {
				t.Errorf("card attempt %+v", got)
			}
		}
		if _, err := st.ByOutTradeNo(ctx, api.Card, ""); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("empty out_trade_no found a card attempt: %v", err)
		}
	})
}

func TestCreateRefusesClearPAN(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		for i, pan := range []string{"6222021234567890", "6222 0212 3456 7890", "4111111111111111111"} {
			n := cardTx("T1", trace(i), 100)
			n.Order.MaskedPAN = pan
			o, replay, err := st.Create(ctx, n)
			if err == nil || replay != nil {
				t.Errorf("clear PAN %q accepted: %+v, replay %+v", pan, o, replay)
			}
			if _, err := st.ByTrace(ctx, "T1", "", trace(i)); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("clear PAN %q: attempt written (%v)", pan, err)
			}
			if _, err := st.Request(ctx, "T1", n.Request.RequestID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("clear PAN %q: request recorded (%v)", pan, err)
			}
		}
		if got := dailyTotal(t, st, "T1", api.Card); got != 0 {
			t.Errorf("refused attempts counted: daily total %d", got)
		}
		mustCreate(t, st, cardTx("T1", "000009", 100)) // masked: accepted
	})
}

// A star somewhere does not make a number masked: a string that still
// shows the whole card number must be refused as well.
func TestCreateRefusesFullPANWithAStar(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		for i, pan := range []string{"6222021234567890123*", "*4111111111111111"} {
			n := cardTx("T1", trace(i), 100)
			n.Order.MaskedPAN = pan
			if o, _, err := st.Create(ctx, n); err == nil {
				t.Errorf("MaskedPAN %q holds a full card number but was stored: %+v", pan, o)
			}
		}
	})
}

func TestCreateValidates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		cases := map[string]func(n *store.NewTx){
			"no terminal":    func(n *store.NewTx) { n.Order.TerminalID = "" },
			"no trace":       func(n *store.NewTx) { n.Order.Trace = "" },
			"no merchant":    func(n *store.NewTx) { n.MerchantID = "" },
			"no store":       func(n *store.NewTx) { n.StoreID = "" },
			"bad channel":    func(n *store.NewTx) { n.Order.Channel = "paypal" },
			"zero amount":    func(n *store.NewTx) { n.Order.Amount = 0 },
			"negative":       func(n *store.NewTx) { n.Order.Amount = -5 },
			"no request id":  func(n *store.NewTx) { n.Request.RequestID = "" },
			"no hash":        func(n *store.NewTx) { n.Request.Hash = "" },
			"no op":          func(n *store.NewTx) { n.Request.Op = "" },
			"no created at":  func(n *store.NewTx) { n.Order.CreatedAt = time.Time{} },
			"no check after": func(n *store.NewTx) { n.CheckAfter = time.Time{} },
			"no day":         func(n *store.NewTx) { n.Day = "" },
		}
		for name, spoil := range cases {
			n := walletTx("T1", "000001", 100)
			spoil(&n)
			if o, replay, err := st.Create(ctx, n); err == nil || replay != nil {
				t.Errorf("%s: accepted %+v (replay %+v)", name, o, replay)
			}
		}
		if _, err := st.ByTrace(ctx, "T1", "", "000001"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("an invalid attempt was written: %v", err)
		}
	})
}

func TestAllowed(t *testing.T) {
	states := []api.State{api.StateCreated, api.StatePending, api.StateUnknown, api.StateSuccess, api.StateFailed, api.StateClosed}
	want := map[api.State]string{ // targets allowed, in the order of states
		api.StateCreated: "-PUSFC",
		api.StatePending: "--USFC",
		api.StateUnknown: "-P-SFC",
		api.StateSuccess: "------",
		api.StateFailed:  "------",
		api.StateClosed:  "------",
	}
	for _, from := range states {
		for j, to := range states {
			if got, exp := store.Allowed(from, to), want[from][j] != '-'; got != exp {
				t.Errorf("Allowed(%s, %s) = %v, want %v", from, to, got, exp)
			}
		}
	}
	if store.Allowed("", api.StateCreated) || store.Allowed(api.StateCreated, "") {
		t.Error("the empty state takes part in transitions")
	}
}

func TestTransitionGuards(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		o := mustCreate(t, st, walletTx("T1", "000001", 100))

		if _, err := st.Transition(ctx, o.ID, api.StateCreated, 1, change(api.StateCreated)); !errors.Is(err, store.ErrBadTransition) {
			t.Errorf("CREATED → CREATED: %v, want ErrBadTransition", err)
		}
		if _, err := st.Transition(ctx, o.ID, api.StatePending, 1, change(api.StateCreated)); !errors.Is(err, store.ErrBadTransition) {
			t.Errorf("PENDING → CREATED: %v, want ErrBadTransition", err)
		}
		if _, err := st.Transition(ctx, o.ID, api.StateSuccess, 1, change(api.StateFailed)); !errors.Is(err, store.ErrFinal) {
			t.Errorf("from SUCCESS: %v, want ErrFinal", err)
		}
		noTime := change(api.StateSuccess)
		noTime.At = time.Time{}
		if _, err := st.Transition(ctx, o.ID, api.StateCreated, 1, noTime); err == nil {
			t.Error("transition without a time accepted")
		}
		if got := mustGet(t, st, o.ID); got != o {
			t.Fatalf("refused transitions changed the attempt: %+v", got)
		}
		if _, err := st.Transition(ctx, "tx-nope", api.StateCreated, 1, change(api.StatePending)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown id: %v, want ErrNotFound", err)
		}

		p := mustMove(t, st, o, api.StatePending)
		for _, v := range []struct {
			from    api.State
			version int
		}{{api.StateCreated, 1}, {api.StatePending, 1}, {api.StatePending, 3}, {api.StateUnknown, 2}} {
			cur, err := st.Transition(ctx, o.ID, v.from, v.version, change(api.StateSuccess))
			if !errors.Is(err, store.ErrStale) {
				t.Errorf("from %s v%d: %v, want ErrStale", v.from, v.version, err)
			}
			if cur != p {
				t.Errorf("from %s v%d: current %+v\nwant %+v", v.from, v.version, cur, p)
			}
		}

		s := mustMove(t, st, p, api.StateSuccess)
		cur, err := st.Transition(ctx, o.ID, api.StatePending, 2, change(api.StateFailed))
		if !errors.Is(err, store.ErrFinal) || cur != s {
			t.Errorf("stale on a final transaction: %+v, %v; want ErrFinal and %+v", cur, err, s)
		}
		if got := mustGet(t, st, o.ID); got != s {
			t.Errorf("final transaction changed: %+v", got)
		}
		h, err := st.History(ctx, o.ID)
		if err != nil || len(h) != 3 {
			t.Errorf("history %+v, %v; want 3 rows", h, err)
		}
	})
}

func TestTransitionFieldsAndHistory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		o := mustCreate(t, st, walletTx("T1", "000001", 100))
		at := func(s int) time.Time { return t0.Add(time.Duration(s)*time.Second + 789) }
		steps := []struct {
			c     store.Change
			check func(o api.Order) bool
		}{
			{store.Change{To: api.StatePending, Reason: "shown", At: at(1), Actor: "terminal", CheckAfter: at(60),
				TradeNo: "W1", QRContent: "https://qr/1", ExpiresAt: at(300)},
				func(o api.Order) bool {
					return o.TradeNo == "W1" && o.QRContent == "https://qr/1" && o.ExpiresAt == us(at(300)) && o.Reason == "shown"
				}},
			{store.Change{To: api.StateUnknown, Reason: "timeout", At: at(2), Actor: "sweeper", CheckAfter: at(90)},
				func(o api.Order) bool {
					return o.TradeNo == "W1" && o.QRContent == "https://qr/1" && o.ExpiresAt == us(at(300)) && o.Reason == "timeout"
				}},
			{store.Change{To: api.StatePending, Reason: "found", At: at(3), Actor: "sweeper", CheckAfter: at(120), TradeNo: "W2"},
				func(o api.Order) bool { return o.TradeNo == "W2" && o.QRContent == "https://qr/1" }},
			{store.Change{To: api.StateSuccess, At: at(4), Actor: "notification"},
				func(o api.Order) bool { return o.TradeNo == "W2" && o.Reason == "" && o.ExpiresAt == us(at(300)) }},
		}
		for i, step := range steps {
			got, err := st.Transition(ctx, o.ID, o.State, o.Version, step.c)
			if err != nil {
				t.Fatalf("step %d → %s: %v", i, step.c.To, err)
			}
			if got.State != step.c.To || got.Version != o.Version+1 || got.UpdatedAt != us(step.c.At) ||
				got.CreatedAt != o.CreatedAt || got.SaleID != o.SaleID || !step.check(got) {
				t.Errorf("step %d → %s gave %+v", i, step.c.To, got)
			}
			if stored := mustGet(t, st, o.ID); stored != got {
				t.Errorf("step %d: stored %+v\nreturned %+v", i, stored, got)
			}
			if applied := store.Apply(o, step.c); applied != got {
				t.Errorf("step %d: Apply gives %+v\nthe store %+v", i, applied, got)
			}
			o = got
		}
		h, err := st.History(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := []store.Transition{
			{Seq: 1, From: "", To: api.StateCreated, Actor: "terminal", At: us(t0)},
			{Seq: 2, From: api.StateCreated, To: api.StatePending, Reason: "shown", Actor: "terminal", At: us(at(1))},
			{Seq: 3, From: api.StatePending, To: api.StateUnknown, Reason: "timeout", Actor: "sweeper", At: us(at(2))},
			{Seq: 4, From: api.StateUnknown, To: api.StatePending, Reason: "found", Actor: "sweeper", At: us(at(3))},
			{Seq: 5, From: api.StatePending, To: api.StateSuccess, Actor: "notification", At: us(at(4))},
		}
		if !equalHistory(h, want) {
			t.Errorf("history\n%+v\nwant\n%+v", h, want)
		}

		c := mustCreate(t, st, cardTx("T1", "000002", 100))
		got, err := st.Transition(ctx, c.ID, api.StateCreated, 1, store.Change{To: api.StateFailed, Reason: "declined",
			At: at(5), Actor: "terminal", ResponseCode: "51", AuthCode: "A1", RRN: "123456789012", Batch: "000007"})
		if err != nil {
			t.Fatal(err)
		}
		if got.ResponseCode != "51" || got.AuthCode != "A1" || got.RRN != "123456789012" || got.Batch != "000007" ||
			got.MaskedPAN != "622202******1234" || got.Reason != "declined" {
			t.Errorf("card fields %+v", got)
		}
		if applied := store.Apply(c, store.Change{To: api.StateFailed, Reason: "declined", At: at(5),
			ResponseCode: "51", AuthCode: "A1", RRN: "123456789012", Batch: "000007"}); applied != got {
			t.Errorf("Apply gives %+v\nthe store %+v", applied, got)
		}
	})
}

func TestTransitionRace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		const n = 20

		// Racing to a state that is not final: the losers see the winner's
		// version.
		o := mustCreate(t, st, walletTx("T1", "000001", 100))
		curs := make([]api.Order, n)
		errs := race(n, func(i int) error {
			var err error
			curs[i], err = st.Transition(ctx, o.ID, api.StateCreated, 1, change(api.StatePending))
			return err
		})
		if ok, stale := countErrs(t, errs, store.ErrStale); ok != 1 || stale != n-1 {
			t.Errorf("CREATED → PENDING: %d won, %d stale; want 1 and %d", ok, stale, n-1)
		}
		for i, cur := range curs {
			if cur.State != api.StatePending || cur.Version != 2 {
				t.Errorf("goroutine %d got %s v%d, want PENDING v2", i, cur.State, cur.Version)
			}
		}
		if h, err := st.History(ctx, o.ID); err != nil || len(h) != 2 {
			t.Errorf("history %+v, %v; want 2 rows", h, err)
		}

		// Racing to final states, half SUCCESS and half FAILED: one wins,
		// the others find it final, and the totals follow the winner.
		o = mustCreate(t, st, walletTx("T1", "000002", 1000))
		winner := make([]api.State, n)
		errs = race(n, func(i int) error {
			to := api.StateSuccess
			if i%2 == 1 {
				to = api.StateFailed
			}
			_, err := st.Transition(ctx, o.ID, api.StateCreated, 1, change(to))
			if err == nil {
				winner[i] = to
			}
			return err
		})
		ok, final := countErrs(t, errs, store.ErrFinal)
		if ok != 1 || final != n-1 {
			t.Errorf("CREATED → final: %d won, %d ErrFinal; want 1 and %d", ok, final, n-1)
		}
		var won api.State
		for _, s := range winner {
			if s != "" {
				won = s
			}
		}
		got := mustGet(t, st, o.ID)
		if got.State != won || got.Version != 2 {
			t.Errorf("stored %s v%d, winner %s", got.State, got.Version, won)
		}
		wantTotal := int64(100 + 1000)
		if won == api.StateFailed {
			wantTotal = 100
		}
		if total := dailyTotal(t, st, "T1", api.Alipay); total != wantTotal {
			t.Errorf("daily total %d after %s won, want %d", total, won, wantTotal)
		}
		if h, err := st.History(ctx, o.ID); err != nil || len(h) != 2 || h[1].To != won {
			t.Errorf("history %+v, %v; want 2 rows ending in %s", h, err, won)
		}
	})
}
