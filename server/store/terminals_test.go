package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/server/store"
	"github.com/multipos/multipos/server/store/storetest"
)

func terminal(id, merchant, storeID string) store.Terminal {
	return store.Terminal{ID: id, MerchantID: merchant, StoreID: storeID, CertSerial: "serial-" + id,
		CertNotAfter: t0.Add(365 * 24 * time.Hour), MasterKey: "sealed-" + id, MasterKCV: "KCV" + id, CreatedAt: t0}
}

func mustTerminal(t *testing.T, st *store.Store, id string) store.Terminal {
	t.Helper()
	got, err := st.Terminal(context.Background(), id)
	if err != nil {
		t.Fatalf("terminal %s: %v", id, err)
	}
	return got
}

func TestAddTerminal(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		if err := st.AddTerminal(ctx, terminal("T1", "M1", "S1"), "Merchant One"); err != nil {
			t.Fatal(err)
		}
		got := mustTerminal(t, st, "T1")
		want := store.Terminal{ID: "T1", MerchantID: "M1", StoreID: "S1", Enabled: true, CertSerial: "serial-T1",
			CertNotAfter: us(t0.Add(365 * 24 * time.Hour)), MasterKey: "sealed-T1", MasterKCV: "KCVT1",
			CreatedAt: us(t0), UpdatedAt: us(t0)}
		if got != want {
			t.Errorf("terminal\n%+v\nwant\n%+v", got, want)
		}
		if name, err := st.Merchant(ctx, "M1"); err != nil || name != "Merchant One" {
			t.Errorf("merchant = %q, %v", name, err)
		}

		dup := terminal("T1", "M2", "S2")
		if err := st.AddTerminal(ctx, dup, "Other"); !errors.Is(err, store.ErrExists) {
			t.Errorf("duplicate: %v, want ErrExists", err)
		}
		if got := mustTerminal(t, st, "T1"); got != want {
			t.Errorf("duplicate changed the terminal: %+v", got)
		}
		if _, err := st.Merchant(ctx, "M2"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("refused terminal left its merchant: %v", err)
		}
		// A second terminal in the same store; the merchant keeps its name.
		if err := st.AddTerminal(ctx, terminal("T2", "M1", "S1"), "Renamed"); err != nil {
			t.Fatal(err)
		}
		if name, err := st.Merchant(ctx, "M1"); err != nil || name != "Merchant One" {
			t.Errorf("merchant renamed by a new terminal: %q, %v", name, err)
		}
		if _, err := st.Terminal(ctx, "T9"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown terminal: %v", err)
		}
		if _, err := st.Merchant(ctx, "M9"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown merchant: %v", err)
		}
		for name, spoil := range map[string]func(*store.Terminal){
			"id":       func(t *store.Terminal) { t.ID = "" },
			"merchant": func(t *store.Terminal) { t.MerchantID = "" },
			"store":    func(t *store.Terminal) { t.StoreID = "" },
			"serial":   func(t *store.Terminal) { t.CertSerial = "" },
			"key":      func(t *store.Terminal) { t.MasterKey = "" },
			"time":     func(t *store.Terminal) { t.CreatedAt = time.Time{} },
		} {
			bad := terminal("T8", "M1", "S1")
			spoil(&bad)
			if err := st.AddTerminal(ctx, bad, ""); err == nil {
				t.Errorf("terminal without %s accepted", name)
			}
		}
	})
}

func TestTerminalChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		if err := st.AddTerminal(ctx, terminal("T1", "M1", "S1"), ""); err != nil {
			t.Fatal(err)
		}
		at := t0.Add(time.Hour + 999)
		if err := st.SetTerminalEnabled(ctx, "T1", false, at); err != nil {
			t.Fatal(err)
		}
		if got := mustTerminal(t, st, "T1"); got.Enabled || got.UpdatedAt != us(at) || got.CreatedAt != us(t0) {
			t.Errorf("disabled: %+v", got)
		}
		if err := st.SetTerminalEnabled(ctx, "T1", true, at.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got := mustTerminal(t, st, "T1"); !got.Enabled || got.UpdatedAt != us(at.Add(time.Hour)) {
			t.Errorf("enabled: %+v", got)
		}
		for _, enabled := range []bool{true, false} {
			if err := st.SetTerminalEnabled(ctx, "T9", enabled, at); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("enable unknown (%v): %v, want ErrNotFound", enabled, err)
			}
		}

		notAfter := t0.Add(2 * 365 * 24 * time.Hour)
		if err := st.ReplaceCredentials(ctx, "T1", "serial-2", notAfter, "sealed-2", "KCV2", at.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		got := mustTerminal(t, st, "T1")
		if got.CertSerial != "serial-2" || got.CertNotAfter != us(notAfter) || got.MasterKey != "sealed-2" ||
			got.MasterKCV != "KCV2" || got.UpdatedAt != us(at.Add(2*time.Hour)) || !got.Enabled {
			t.Errorf("after new credentials: %+v", got)
		}
		if err := st.ReplaceCredentials(ctx, "T9", "s", notAfter, "k", "c", at); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("credentials of unknown: %v, want ErrNotFound", err)
		}
	})
}

func TestTerminalsListAndSeen(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		// Added out of order: the list is by merchant, store and id.
		for _, term := range []store.Terminal{terminal("T3", "M2", "S9"), terminal("T2", "M1", "S1"),
			terminal("T1", "M1", "S1"), terminal("T0", "M1", "S2")} {
			if err := st.AddTerminal(ctx, term, ""); err != nil {
				t.Fatal(err)
			}
		}
		mustCreate(t, st, walletTx("T1", "000001", 100))
		later := walletTx("T1", "000002", 200)
		later.Order.CreatedAt = t0.Add(5 * time.Second)
		last := mustCreate(t, st, later)
		mustMove(t, st, last, api.StatePending)
		last = mustGet(t, st, last.ID)
		t3 := mustCreate(t, st, walletTx("T3", "000001", 300))

		list, err := st.Terminals(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, s := range list {
			ids = append(ids, s.ID)
		}
		if want := []string{"T1", "T2", "T0", "T3"}; len(ids) != len(want) || ids[0] != want[0] || ids[1] != want[1] ||
			ids[2] != want[2] || ids[3] != want[3] {
			t.Fatalf("terminals %v, want %v", ids, want)
		}
		if list[0].LastTx == nil || *list[0].LastTx != last {
			t.Errorf("T1's last transaction %+v, want %+v", list[0].LastTx, last)
		}
		if list[1].LastTx != nil || list[2].LastTx != nil {
			t.Errorf("terminals without transactions have %+v, %+v", list[1].LastTx, list[2].LastTx)
		}
		if list[3].LastTx == nil || *list[3].LastTx != t3 {
			t.Errorf("T3's last transaction %+v", list[3].LastTx)
		}
		if list[0].Terminal != mustTerminal(t, st, "T1") {
			t.Errorf("listed %+v", list[0].Terminal)
		}
		m2, err := st.Terminals(ctx, "M2")
		if err != nil || len(m2) != 1 || m2[0].ID != "T3" {
			t.Errorf("terminals of M2 = %+v, %v", m2, err)
		}
		if none, err := st.Terminals(ctx, "M9"); err != nil || len(none) != 0 {
			t.Errorf("terminals of M9 = %+v, %v", none, err)
		}

		seen := t0.Add(3*time.Hour + 999)
		if err := st.Seen(ctx, "T1", "10.0.0.1:4242", "1.2.3", seen); err != nil {
			t.Fatal(err)
		}
		got := mustTerminal(t, st, "T1")
		if got.LastSeenAt != us(seen) || got.LastSeenAddr != "10.0.0.1:4242" || got.AppVersion != "1.2.3" {
			t.Errorf("after heartbeat: %+v", got)
		}
		for id, at := range map[string]time.Time{"T2": t0.Add(time.Hour), "T3": seen} {
			if err := st.Seen(ctx, id, "10.0.0.2:1", "1.0.0", at); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.SetTerminalEnabled(ctx, "T3", false, seen); err != nil {
			t.Fatal(err)
		}
		for since, want := range map[time.Duration]int{0: 2, 2 * time.Hour: 1, 4 * time.Hour: 0} {
			if n, err := st.CountOnline(ctx, t0.Add(since)); err != nil || n != want {
				t.Errorf("online since t0+%v = %d, %v; want %d", since, n, err, want)
			}
		}
	})
}

func TestLimits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		yes, no := true, false
		single, daily, zero := int64(500), int64(10000), int64(0)
		rules := []store.LimitRule{
			{Scope: store.ScopeMerchant, ScopeID: "M1", Channel: api.Alipay, Enabled: &yes, Single: &single, UpdatedAt: t0},
			{Scope: store.ScopeTerminal, ScopeID: "T1", Channel: api.Alipay, Daily: &zero, UpdatedAt: t0},
			{Scope: store.ScopeTerminal, ScopeID: "T1", Channel: api.Card, Enabled: &no, UpdatedAt: t0},
			{Scope: store.ScopeTerminal, ScopeID: "T2", Channel: api.WeChat, Daily: &daily, UpdatedAt: t0},
			{Scope: store.ScopeMerchant, ScopeID: "M2", Channel: api.WeChat, Enabled: &no, UpdatedAt: t0},
		}
		for _, r := range rules {
			if err := st.SetLimit(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		got, err := st.Limits(ctx, "M1", "T1")
		if err != nil {
			t.Fatal(err)
		}
		checkRules(t, "M1/T1", got, rules[:3])

		// Replacing a rule replaces all of its fields.
		repl := store.LimitRule{Scope: store.ScopeMerchant, ScopeID: "M1", Channel: api.Alipay, Enabled: &no, Daily: &daily,
			UpdatedAt: t0.Add(time.Hour)}
		if err := st.SetLimit(ctx, repl); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteLimit(ctx, store.ScopeTerminal, "T1", api.Alipay); err != nil {
			t.Fatal(err)
		}
		got, err = st.Limits(ctx, "M1", "T1")
		if err != nil {
			t.Fatal(err)
		}
		checkRules(t, "after replace and delete", got, []store.LimitRule{repl, rules[2]})
		if got, err := st.Limits(ctx, "M2", "T2"); err != nil {
			t.Fatal(err)
		} else {
			checkRules(t, "M2/T2", got, []store.LimitRule{rules[4], rules[3]})
		}
		if err := st.DeleteLimit(ctx, store.ScopeTerminal, "T9", api.Alipay); err != nil {
			t.Errorf("deleting a missing rule: %v", err)
		}

		for name, r := range map[string]store.LimitRule{
			"scope":   {Scope: "store", ScopeID: "S1", Channel: api.Alipay, UpdatedAt: t0},
			"id":      {Scope: store.ScopeMerchant, Channel: api.Alipay, UpdatedAt: t0},
			"channel": {Scope: store.ScopeMerchant, ScopeID: "M1", Channel: "cash", UpdatedAt: t0},
			"time":    {Scope: store.ScopeMerchant, ScopeID: "M1", Channel: api.Alipay},
		} {
			if err := st.SetLimit(ctx, r); err == nil {
				t.Errorf("rule with bad %s accepted", name)
			}
		}
	})
}

func checkRules(t *testing.T, what string, got, want []store.LimitRule) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d rules, want %d: %+v", what, len(got), len(want), got)
		return
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Scope != w.Scope || g.ScopeID != w.ScopeID || g.Channel != w.Channel || !g.UpdatedAt.Equal(us(w.UpdatedAt)) ||
			!samePtr(g.Enabled, w.Enabled) || !samePtr(g.Single, w.Single) || !samePtr(g.Daily, w.Daily) {
			t.Errorf("%s: rule %d = %s, want %s", what, i, ruleString(g), ruleString(w))
		}
	}
}

func samePtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func ruleString(r store.LimitRule) string {
	show := func(set bool, v any) string {
		if !set {
			return "inherit"
		}
		return fmt.Sprint(v)
	}
	return fmt.Sprintf("%s %s %s enabled=%s single=%s daily=%s", r.Scope, r.ScopeID, r.Channel,
		show(r.Enabled != nil, deref(r.Enabled)), show(r.Single != nil, deref(r.Single)), show(r.Daily != nil, deref(r.Daily)))
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
