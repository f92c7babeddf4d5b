package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/cmd/internal/cmdline"
	"github.com/multipos/multipos/demo/standins"
	"github.com/multipos/multipos/server"
	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/store"
	"github.com/multipos/multipos/server/store/storetest"
)

// alipayBill pays on the Alipay sandbox (through the real connector), puts
// the journal's side in db, and returns the day's bill as downloaded.
// Journal: 000001 paid and at the channel; 000002 paid, not at the
// channel. Channel: 000001, and outside_1 the journal never saw.
func alipayBill(t *testing.T, db, day string) []byte {
	t.Helper()
	ctx := context.Background()
	sb, err := standins.StartWallets(ctx, standins.WalletOptions{NotifyBase: "http://127.0.0.1:1", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i, amount := range []int64{1234, 500} {
		trace := "00000" + string(rune('1'+i))
		o, _, err := st.Create(ctx, store.NewTx{Order: api.Order{TerminalID: "T001", Trace: trace, Channel: api.Alipay,
			Kind: api.KindWalletBarcode, Amount: amount, OutTradeNo: "T001" + trace, CreatedAt: time.Now()},
			MerchantID: "898310000000002", StoreID: "S01", Day: day, CheckAfter: time.Now().Add(time.Hour),
			Request: store.Request{RequestID: "r" + trace, Op: "barcode", Hash: "h"}, Actor: "terminal"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Transition(ctx, o.ID, o.State, o.Version, store.Change{To: api.StateSuccess, At: time.Now(), Actor: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []connector.BarcodePay{{OutTradeNo: "T001000001", Amount: 1234}, {OutTradeNo: "outside_1", Amount: 700}} {
		p.AuthCode, p.Subject, p.TerminalID, p.StoreID = "281234567890123456", "test", "T001", "S01"
		if s, err := sb.AlipayConn.Pay(ctx, p); err != nil || s.State != connector.WalletPaid {
			t.Fatalf("pay %s: %+v %v", p.OutTradeNo, s, err)
		}
	}
	sb.Alipay.Advance(24 * time.Hour)
	raw, err := sb.AlipayConn.DownloadBill(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// The operator's reconciliation: import a bill by hand, see the summary,
// list the exceptions in every format, resolve one, see the daily report;
// bad input refused clearly. On both databases.
func TestReconcileCommands(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		dir := t.TempDir()
		t.Chdir(dir)
		db := storetest.DSN(t, d)
		day := time.Now().In(server.DefaultZone()).Format("2006-01-02")
		bill := filepath.Join(dir, "20881234_"+day+".csv.zip")
		if err := os.WriteFile(bill, alipayBill(t, db, day), 0o600); err != nil {
			t.Fatal(err)
		}
		out := mustCLI(t, "reconcile", "-db", db, "-date", day, "-bill", bill)
		for _, want := range []string{"核销 Reconciliation " + day + " · alipay", "完成 done", "净额 net 19.34", "outside_1", "T001000002"} {
			if !strings.Contains(out, want) {
				t.Errorf("reconcile said no %q:\n%s", want, out)
			}
		}
		for label, n := range map[string]string{"matched": "1", "at the channel only": "1", "in the journal only": "1", "amount differs": "0"} {
			if !hasCount(out, label, n) {
				t.Errorf("reconcile said no %s %s:\n%s", label, n, out)
			}
		}
		kept, _ := filepath.Glob(filepath.Join(dir, "bills", "alipay", day+"_imported_*.csv.zip"))
		if len(kept) != 1 {
			t.Fatalf("bill kept: %v", kept)
		}

		var exs []struct{ ID, Class, State, OutTradeNo string }
		if err := json.Unmarshal([]byte(mustCLI(t, "reconcile", "exceptions", "-db", db, "-format", "json")), &exs); err != nil || len(exs) != 2 {
			t.Fatalf("exceptions json: %+v %v", exs, err)
		}
		csv := mustCLI(t, "reconcile", "exceptions", "-db", db, "-format", "csv")
		if !strings.HasPrefix(csv, "ID,DAY,CHANNEL,CLASS") || strings.Count(csv, "\n") != 3 {
			t.Fatalf("exceptions csv:\n%s", csv)
		}
		if _, err := cli(t, "reconcile", "resolve", exs[0].ID, "-db", db); !errors.As(err, new(cmdline.UsageError)) {
			t.Fatalf("resolve without a note: %v", err)
		}
		out = mustCLI(t, "reconcile", "resolve", exs[0].ID, "-db", db, "-note", "refunded by hand", "-by", "ops")
		if !strings.Contains(out, "resolved "+exs[0].ID) {
			t.Fatalf("resolve said:\n%s", out)
		}
		if out, err := cli(t, "reconcile", "resolve", exs[0].ID, "-db", db, "-note", "again"); err == nil || !strings.Contains(err.Error(), "resolved already by ops") {
			t.Fatalf("resolving twice: %v\n%s", err, out)
		}
		if out := mustCLI(t, "reconcile", "exceptions", "-db", db); strings.Contains(out, exs[0].ID) || !strings.Contains(out, exs[1].ID) {
			t.Fatalf("open exceptions:\n%s", out)
		}
		if out := mustCLI(t, "reconcile", "exceptions", "-db", db, "-all"); !strings.Contains(out, "refunded by hand") {
			t.Fatalf("all exceptions:\n%s", out)
		}
		// A rerun keeps the resolution.
		mustCLI(t, "reconcile", "-db", db, "-date", day, "-bill", bill, "-channel", "alipay")
		if out := mustCLI(t, "reconcile", "exceptions", "-db", db); strings.Contains(out, exs[0].ID) {
			t.Fatalf("reopened by the rerun:\n%s", out)
		}

		out = mustCLI(t, "report", "daily", "-db", db, "-date", day)
		if !strings.Contains(out, "898310000000002  S01") || !strings.Contains(out, "12.34") {
			t.Fatalf("daily report:\n%s", out)
		}
		var rows []map[string]any
		if err := json.Unmarshal([]byte(mustCLI(t, "report", "daily", "-db", db, "-date", day, "-format", "json")), &rows); err != nil || len(rows) != 2 {
			t.Fatalf("daily report json: %v %v", rows, err)
		}

		for _, bad := range [][]string{
			{"reconcile", "-db", db, "-date", "06/12/2026", "-bill", bill},
			{"reconcile", "-db", db, "-channel", "paypal", "-bill", bill},
			{"reconcile", "exceptions", "-db", db, "-format", "xml"},
			{"report", "daily", "-db", db, "-format", "pdf"},
			{"reconcile", "resolve", "-db", db, "-note", "x"},
		} {
			if _, err := cli(t, bad...); !errors.As(err, new(cmdline.UsageError)) {
				t.Errorf("posserver %v: %v, want a usage error", bad, err)
			}
		}
		if _, err := cli(t, "reconcile", "-db", db, "-date", day, "-bill", filepath.Join(dir, "nothere.zip")); err == nil {
			t.Error("a missing bill file accepted")
		}
		if out, err := cli(t, "reconcile", "-db", db, "-date", day); err == nil || !strings.Contains(out+err.Error(), "-bill FILE") {
			t.Errorf("fetching without [alipay]: %v\n%s", err, out)
		}
	})
}

// hasCount says whether a line of out shows label followed by count.
func hasCount(out, label, count string) bool {
	for _, line := range strings.Split(out, "\n") {
		if i := strings.Index(line, label); i >= 0 && strings.TrimSpace(line[i+len(label):]) == count {
			return true
		}
	}
	return false
}
