package bank

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// ours is a file as sandbox/acquirer writes it.
const ours = "settle_date,merchant,terminal,batch,trace,rrn,auth_code,type,txn_time,amount,fee,net,card_no,result,settle_status\n" +
	"20261125,898110000000001,T0000001,000001,000091,261125000001,A00001,sale,2026-11-25 18:00:00,15.00,0.09,14.91,621234******0002,voided,balanced\n" +
	"20261125,898110000000001,T0000001,000001,000094,261125000003,A00003,void,2026-11-25 18:01:00,15.00,-0.09,-14.91,621234******0002,approved,balanced\n"

func wantOurs(t *testing.T, rows []SettleRow) {
	t.Helper()
	if len(rows) != 2 {
		t.Fatalf("rows: %+v", rows)
	}
	r := rows[0]
	at := time.Date(2026, 11, 25, 18, 0, 0, 0, cstZone)
	if r.SettleDate != "2026-11-25" || r.Merchant != "898110000000001" || r.Terminal != "T0000001" || r.Batch != "000001" ||
		r.Trace != "000091" || r.RRN != "261125000001" || r.AuthCode != "A00001" || r.Type != "sale" || !r.At.Equal(at) ||
		r.Amount != 1500 || r.Fee != 9 || r.Net != 1491 || r.MaskedPAN != "621234******0002" || r.Result != "voided" ||
		r.Status != "balanced" {
		t.Fatalf("row 1: %+v", r)
	}
	if v := rows[1]; v.Type != "void" || v.Amount != 1500 || v.Fee != -9 || v.Net != -1491 || v.Trace != "000094" {
		t.Fatalf("row 2: %+v", v)
	}
}

func TestParseSettlementFileVariants(t *testing.T) {
	gbk := func(s string) string {
		b, err := simplifiedchinese.GBK.NewEncoder().String(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	chinese := "XX银行商户对账文件\n商户名称：示例商店\n" +
		"清算日期,商户号,终端号,批次号,凭证号,参考号,授权码,交易类型,交易时间,交易金额(元),手续费(元),结算金额(元),卡号,交易结果,结算状态\n" +
		"2026-11-25,898110000000001,T0000001,000001,000091,261125000001,A00001,消费,2026/11/25 18:00:00,15.00,0.09,14.91,6212345678900002,voided,balanced\n" +
		"2026-11-25,898110000000001,T0000001,000001,000094,261125000003,A00003,消费撤销,2026/11/25 18:01:00,-15.00,-0.09,-14.91,621234******0002,approved,balanced\n" +
		"合计,,,,,,,,,30.00,0.00,0.00\n"
	reordered := "type,amount_fen,fee_fen,trace,terminal,batch,rrn,merchant,auth_code,card_no,txn_time,settle_date,result,settle_status\n" +
		"sale,1500,9,000091,T0000001,000001,261125000001,898110000000001,A00001,621234******0002,20261125180000,20261125,voided,balanced\n" +
		"void,1500,-9,000094,T0000001,000001,261125000003,898110000000001,A00003,621234******0002,20261125180100,20261125,approved,balanced\n"
	for name, raw := range map[string]string{
		"ours":               ours,
		"BOM and CRLF":       "\xEF\xBB\xBF" + strings.ReplaceAll(ours, "\n", "\r\n"),
		"trailing commas":    strings.ReplaceAll(ours, "\n", ",,\n"),
		"GBK Chinese":        gbk(chinese),
		"UTF-8 Chinese CRLF": strings.ReplaceAll(chinese, "\n", "\r\n"),
		"reordered, fen":     reordered,
		"tabs":               strings.ReplaceAll(ours, ",", "\t"),
		"bilingual header": strings.Replace(ours, "terminal,batch,trace",
			"终端号/terminal,批次号/batch,凭证号/trace", 1),
		"quoted, padded": strings.ReplaceAll(strings.ReplaceAll(ours, ",000091,", ",\"\t000091\", "), ",15.00,", ", 15.00 ,"),
	} {
		t.Run(name, func(t *testing.T) {
			rows, err := ParseSettlementFile([]byte(raw))
			if err != nil {
				t.Fatal(err)
			}
			wantOurs(t, rows)
		})
	}
}

func TestParseSettlementFileErrors(t *testing.T) {
	for _, c := range []struct{ raw, want string }{
		{"", "no header line"},
		{"a,b,c\n1,2,3\n", "no header line"},
		{"terminal,trace,type,amount\nT1,000001,sale,12.345\n", `line 2, column 4 "amount"`},
		{"terminal,trace,type,amount\nT1,000001,swap,1\n", `line 2, column 3 "type": "swap" is not a sale`},
		{"terminal,trace,type,amount\n,000001,sale,1\n", `line 2, column 1 "terminal": empty`},
		{"terminal,trace,type,amount,txn_time\nT1,000001,sale,1,yesterday\n", `column 5 "txn_time"`},
		{"terminal,trace,type,金额(分)\nT1,000001,sale,1.5\n", `column 4 "金额(分)": "1.5" is not an amount in fen`},
		{"terminal,trace,type,amount\nT1,000001,sale,1\n\"T2,000002,sale,2\n", "line 3"},
	} {
		_, err := ParseSettlementFile([]byte(c.raw))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.raw, err, c.want)
		}
	}
	// A full card number is masked as it is read.
	rows, err := ParseSettlementFile([]byte("terminal,trace,type,amount,pan\nT1,000001,sale,1,6212345678900002\n"))
	if err != nil || rows[0].MaskedPAN != "621234******0002" || rows[0].Line != 2 || rows[0].Net != 100 {
		t.Fatalf("%+v %v", rows, err)
	}
}

func TestFetchSettlementFile(t *testing.T) {
	day := time.Date(2026, 11, 25, 0, 0, 0, 0, cstZone)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/files/settlement-20261125.csv" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(ours))
	}))
	defer srv.Close()
	ctx := context.Background()
	raw, err := FetchSettlementFile(ctx, srv.Client(), srv.URL+"/files/settlement-{date}.csv", day)
	if err != nil || string(raw) != ours {
		t.Fatalf("over http: %q %v", raw, err)
	}
	if _, err := FetchSettlementFile(ctx, srv.Client(), srv.URL+"/files/settlement-{date}.csv", day.AddDate(0, 0, 1)); !errors.Is(err, ErrSettlementFileNotReady) {
		t.Fatalf("a day not ready: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := FetchSettlementFile(cancelled, srv.Client(), srv.URL+"/files/settlement-{date}.csv", day); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}

	// Dropped in a folder, kept 0600 in a 0700 folder.
	dir := t.TempDir()
	if _, err := FetchSettlementFile(ctx, nil, filepath.Join(dir, "settlement-{date}.csv"), day); !errors.Is(err, ErrSettlementFileNotReady) {
		t.Fatalf("not dropped yet: %v", err)
	}
	path, err := SaveSettlementFile(filepath.Join(dir, "kept"), day, raw)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("saved: %v %v", fi, err)
	}
	if fi, _ := os.Stat(filepath.Dir(path)); fi.Mode().Perm() != 0o700 {
		t.Fatalf("folder: %v", fi.Mode())
	}
	got, err := FetchSettlementFile(ctx, nil, filepath.Join(dir, "kept", "settlement-{date}.csv"), day)
	if err != nil || string(got) != ours {
		t.Fatalf("from the folder: %q %v", got, err)
	}
	for _, bad := range []string{"/srv/file.csv", "http://acq.example/{date}.csv", "ftp://x/{date}"} {
		if err := CheckSettlementSource(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzParseSettlementFile feeds arbitrary bytes to ParseSettlementFile: it
// may refuse them, never panic; what it accepts has a terminal, a key and
// a positive or zero amount, and no full card number.
func FuzzParseSettlementFile(f *testing.F) {
	f.Add([]byte(ours))
	f.Add([]byte("\xEF\xBB\xBF" + strings.ReplaceAll(ours, "\n", "\r\n")))
	f.Add([]byte("终端号,凭证号,交易类型,交易金额(分)\nT1,000001,消费,100\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		rows, err := ParseSettlementFile(raw)
		if err != nil {
			return
		}
		for _, r := range rows {
			if r.Terminal == "" || r.Trace == "" && r.RRN == "" || r.Amount < 0 || r.Line < 2 ||
				(r.Type != "sale" && r.Type != "void" && r.Type != "refund") {
				t.Fatalf("accepted %+v", r)
			}
			if isDigits(r.MaskedPAN) && len(r.MaskedPAN) >= 13 {
				t.Fatalf("a full card number kept: %+v", r)
			}
		}
	})
}
