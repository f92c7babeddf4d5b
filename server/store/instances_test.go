package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/multipos/multipos/server/store"
	"github.com/multipos/multipos/server/store/storetest"
)

func TestInstancesSeeEachOther(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		dsn := storetest.DSN(t, d)
		a, b := storetest.OpenDSN(t, dsn), storetest.OpenDSN(t, dsn)
		ctx := context.Background()
		now := time.Now()
		if n, err := a.Register(ctx, "a", now, now.Add(-5*time.Second)); err != nil || n != 0 {
			t.Fatalf("alone: %d, %v", n, err)
		}
		if n, err := b.Register(ctx, "b", now, now.Add(-5*time.Second)); err != nil || n != 1 {
			t.Fatalf("b sees %d others, %v; want a", n, err)
		}
		if n, err := a.Register(ctx, "a", now.Add(time.Second), now.Add(-4*time.Second)); err != nil || n != 1 {
			t.Fatalf("a sees %d others, %v; want b", n, err)
		}
		// b stops being seen: after the timeout a is alone again.
		later := now.Add(10 * time.Second)
		if n, err := a.Register(ctx, "a", later, later.Add(-5*time.Second)); err != nil || n != 0 {
			t.Fatalf("after b's timeout a sees %d, %v", n, err)
		}
		// Leaving removes the instance and the long dead.
		if err := a.Deregister(ctx, "a", later.Add(-5*time.Second)); err != nil {
			t.Fatal(err)
		}
		if n, err := b.Register(ctx, "b", later, now.Add(-time.Hour)); err != nil || n != 0 {
			t.Fatalf("after a left and b was swept, b sees %d, %v", n, err)
		}
	})
}

func TestCountTerminals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		if n, err := st.CountTerminals(ctx); err != nil || n != 0 {
			t.Fatalf("empty: %d, %v", n, err)
		}
		for _, id := range []string{"T1", "T2"} {
			if err := st.AddTerminal(ctx, store.Terminal{ID: id, MerchantID: "M", StoreID: "S", CertSerial: "s-" + id,
				MasterKey: "k", MasterKCV: "000000", CreatedAt: time.Now()}, "Shop"); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := st.CountTerminals(ctx); err != nil || n != 2 {
			t.Fatalf("two added: %d, %v", n, err)
		}
	})
}
