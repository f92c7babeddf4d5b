package store_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/server/store"
	"github.com/multipos/multipos/server/store/storetest"
)

// A database made before trace numbers had batches (migrations 001–004),
// holding the defect issue 11 fixes (a void that reused its sale's trace),
// is brought up to date on both engines with nothing lost: every
// transaction, its history and the void are kept, the traces used so far
// are known (the first use of a reused one), each transaction has its
// batch, a trace may come round again in the next batch, and an order can
// be CANCELLING.
func TestUpgradeFromTracesForever(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		dsn := storetest.DSN(t, d)
		db := rawDB(t, d, dsn)
		applyOld(t, db, d, 4)
		q := func(query string) string { return store.Rebind(d, query) }
		exec := func(query string, args ...any) {
			t.Helper()
			if _, err := db.Exec(q(query), args...); err != nil {
				t.Fatalf("%s: %v", query, err)
			}
		}
		now := t0.UnixMicro()
		exec(`INSERT INTO merchants (id, name, created_at) VALUES ('M1', 'Shop', ?)`, now)
		exec(`INSERT INTO stores (merchant_id, id, created_at) VALUES ('M1', 'S1', ?)`, now)
		exec(`INSERT INTO terminals (id, merchant_id, store_id, cert_serial, cert_not_after, master_key, master_kcv, created_at, updated_at)
			VALUES ('T1', 'M1', 'S1', 'c1', ?, 'k', 'kcv', ?, ?)`, now, now, now)
		for _, sale := range []string{"sa1", "sa2"} {
			exec(`INSERT INTO sales (id, terminal_id, merchant_id, store_id, amount, state, created_at, updated_at)
				VALUES (?, 'T1', 'M1', 'S1', 500, 'OPEN', ?, ?)`, sale, now, now)
		}
		exec(`INSERT INTO transactions (id, sale_id, terminal_id, merchant_id, store_id, trace, channel, kind, amount, state,
			version, masked_pan, entry, response_code, rrn, batch, day, created_at, updated_at)
			VALUES ('tx1', 'sa1', 'T1', 'M1', 'S1', '000001', 'card', 'card_sale', 500, 'SUCCESS', 2, '621234******0002', 'chip',
			'00', '250301000001', '000001', '2025-03-01', ?, ?)`, now, now)
		exec(`INSERT INTO transactions (id, sale_id, terminal_id, merchant_id, store_id, trace, channel, kind, amount, state,
			version, out_trade_no, expires_at, day, check_after, created_at, updated_at)
			VALUES ('tx2', 'sa2', 'T1', 'M1', 'S1', '000002', 'alipay', 'wallet_qr', 500, 'PENDING', 2, 'T1QR000002', ?, '2025-03-01', ?, ?, ?)`,
			now+120e6, now+120e6, now, now)
		exec(`INSERT INTO transaction_history (tx_id, seq, from_state, to_state, actor, at) VALUES
			('tx1', 1, '', 'CREATED', 'terminal', ?), ('tx1', 2, 'CREATED', 'SUCCESS', 'terminal', ?),
			('tx2', 1, '', 'CREATED', 'terminal', ?), ('tx2', 2, 'CREATED', 'PENDING', 'terminal', ?)`, now, now, now, now)
		// The defect: a void under the sale's own trace.
		exec(`INSERT INTO card_adjustments (id, terminal_id, request_id, request_hash, kind, trace, original_id, amount, state,
			version, masked_pan, entry, batch, day, created_at, updated_at)
			VALUES ('adj1', 'T1', 'rq-void', 'h', 'card_void', '000001', 'tx1', 500, 'FAILED', 2, '621234******0002', 'chip',
			'000001', '2025-03-01', ?, ?)`, now, now)
		db.Close()

		st := mustOpen(t, dsn)
		defer st.Close()
		sale, wallet := mustGet(t, st, "tx1"), mustGet(t, st, "tx2")
		if sale.State != api.StateSuccess || sale.Batch != "000001" || wallet.State != api.StatePending || wallet.Batch != "000001" {
			t.Fatalf("after the upgrade: %+v\n%+v", sale, wallet)
		}
		if v, err := st.Adjustment(ctx, "adj1"); err != nil || v.Trace != "000001" || v.Original != "tx1" {
			t.Fatalf("the void: %+v, %v", v, err)
		}
		if h, err := st.History(ctx, "tx2"); err != nil || len(h) != 2 {
			t.Fatalf("history: %+v, %v", h, err)
		}
		if batch, next, err := st.NextTrace(ctx, "T1"); err != nil || batch != "000001" || next != "000003" {
			t.Fatalf("next trace: %s %s %v", batch, next, err)
		}
		// Traces used before are taken, whatever the message.
		if _, err := st.ClaimTrace(ctx, "T1", "000002", store.TraceBalance, t0); !errors.Is(err, store.ErrTraceUsed) {
			t.Fatalf("a used trace claimed again: %v", err)
		}
		// The wallet order can be closed the new way.
		c := change(api.StateCancelling)
		if _, err := st.Transition(ctx, "tx2", api.StatePending, 2, c); err != nil {
			t.Fatalf("PENDING → CANCELLING after the upgrade: %v", err)
		}
		// A trace comes round again in the next batch.
		n := walletTx("T1", "999999", 100)
		mustCreate(t, st, n)
		again := walletTx("T1", "000001", 100)
		again.Order.OutTradeNo = "T1-next-000001"
		if o := mustCreate(t, st, again); o.Batch != "000002" {
			t.Fatalf("000001 after 999999: batch %s", o.Batch)
		}
		if got, err := st.ByTrace(ctx, "T1", "", "000001"); err != nil || got.Batch != "000002" {
			t.Fatalf("latest with trace 000001: %+v, %v", got, err)
		}
		if got, err := st.ByTrace(ctx, "T1", "000001", "000001"); err != nil || got.ID != "tx1" {
			t.Fatalf("000001 in batch 000001: %+v, %v", got, err)
		}
	})
}

// applyOld applies the migrations up to version `upto` as an older build
// did, recording them in schema_migrations with their checksums.
func applyOld(t *testing.T, db *sql.DB, d store.Dialect, upto int) {
	t.Helper()
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, checksum TEXT NOT NULL DEFAULT '',
		applied_at BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	names, err := filepath.Glob("migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	for _, name := range names {
		base := filepath.Base(name)
		if strings.HasSuffix(base, ".postgres.sql") && d != store.Postgres || strings.HasSuffix(base, ".sqlite.sql") && d != store.SQLite {
			continue
		}
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			t.Fatal(err)
		}
		if v > upto {
			continue
		}
		script, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(script)); err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		sum := sha256.Sum256(script)
		if _, err := db.Exec(store.Rebind(d, `INSERT INTO schema_migrations (version, checksum, applied_at) VALUES (?, ?, ?)`),
			v, hex.EncodeToString(sum[:]), time.Now().UnixMicro()); err != nil {
			t.Fatal(err)
		}
	}
}
