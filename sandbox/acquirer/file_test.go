package acquirer

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/server/connector"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func postJSON(t *testing.T, url string, body any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// The day's file lists the batches settled that day: one the terminal
// settled out of balance on its upload (with a transaction the host never
// booked, and without one the terminal did not upload), with the lines as
// the control API planted them; the batch left open is settled at the
// host's day cut, served once the day is closed, and kept on disk.
func TestSettlementFileOutOfBalanceAndDayCut(t *testing.T) {
	f := start(t)
	srv := httptest.NewServer(f.h.ControlHandler())
	defer srv.Close()
	j := &journal{t: t, c: f.client(t, 2*time.Second)}
	good := card(t, "approved")
	j.sale(good, "000001", 1000)
	j.sale(good, "000002", 2000)
	if _, err := f.h.AddEntry(Planted{TerminalID: term.TerminalID, MerchantID: term.MerchantID, Batch: term.Batch,
		Trace: "000050", Type: Sale, Amount: 500}); err != nil {
		t.Fatal(err)
	}
	line := map[string]any{"terminal": term.TerminalID, "merchant": term.MerchantID, "batch": term.Batch, "trace": "000002", "fee": 99}
	if code := postJSON(t, srv.URL+"/control/file/line", line); code != http.StatusOK {
		t.Fatalf("plant a fee: %d", code)
	}
	if code := postJSON(t, srv.URL+"/control/file/line", map[string]any{"terminal": term.TerminalID,
		"merchant": term.MerchantID, "batch": term.Batch, "trace": "000077", "amount": 5}); code != http.StatusNotFound {
		t.Fatalf("plant on no entry: %d", code)
	}
	// The terminal has one the host never booked (e.g. taken offline).
	j.txns = append(j.txns, connector.BatchTxn{Kind: "sale", Trace: "000077", Amount: 123, RRN: "261125999999", AuthCode: "X00001"})
	if res := j.settle("000003"); res.Balanced {
		t.Fatalf("settled: %+v", res)
	}
	if err := j.upload(j.txns); err != nil {
		t.Fatal(err)
	}
	if ok, err := j.end("000004", len(j.txns), false); !ok || err != nil {
		t.Fatalf("end: %v %v", ok, err)
	}
	if code := postJSON(t, srv.URL+"/control/file/line", line); code != http.StatusConflict {
		t.Fatalf("plant on a listed entry: %d", code)
	}
	// The next batch, left open.
	s := saleOf(t, j.c, good, good.PIN, "000001", 700)
	s.Batch = "000002"
	if res, err := j.c.Sale(t.Context(), s); err != nil || !res.Approved() {
		t.Fatalf("sale in the next batch: %+v %v", res, err)
	}

	name := "/files/" + SettlementFile(f.clk.Now())
	if code, body := get(t, srv.URL+name); code != http.StatusNotFound || !strings.Contains(body, "not closed") {
		t.Fatalf("before the day is closed: %d %s", code, body)
	}
	if code, _ := get(t, srv.URL+"/files/settlement-2026.csv"); code != http.StatusNotFound {
		t.Fatalf("a bad name: %d", code)
	}
	f.clk.Add(14 * time.Hour) // 08:00 the next day, no traffic: the host cut the day at midnight
	code, body := get(t, srv.URL+name)
	if code != http.StatusOK {
		t.Fatalf("after the day: %d %s", code, body)
	}
	for _, re := range []string{
		`(?m)^20261125,898110000000001,T0000001,000001,000001,\d{12},\w+,sale,2026-11-25 18:00:00,10\.00,0\.06,9\.94,621234\*+0002,approved,uploaded$`,
		`(?m)^20261125,898110000000001,T0000001,000001,000002,\d{12},\w+,sale,[^,]+,20\.00,0\.99,19\.01,[^,]+,approved,uploaded$`,
		`(?m)^20261125,898110000000001,T0000001,000001,000077,261125999999,X00001,sale,[^,]+,1\.23,0\.01,1\.22,,approved,uploaded$`,
		`(?m)^20261125,898110000000001,T0000001,000002,000001,\d{12},\w+,sale,[^,]+,7\.00,0\.04,6\.96,[^,]+,approved,host_cut$`,
	} {
		if !regexp.MustCompile(re).MatchString(body) {
			t.Errorf("no line %s in\n%s", re, body)
		}
	}
	if strings.Contains(body, ",000050,") || strings.Count(body, "\n") != 5 {
		t.Fatalf("the day's file:\n%s", body)
	}
	code, body2 := get(t, srv.URL+"/control/ledger")
	if code != http.StatusOK || strings.Count(body2, `"listed_on":"20261125"`) != 3 {
		t.Fatalf("ledger: %s", body2)
	}
	f.h.Close() // waits for the file on disk
	disk, err := os.ReadFile(filepath.Join(f.dir, SettlementFile(f.clk.Now().Add(-24*time.Hour))))
	if err != nil || string(disk) != body {
		t.Fatalf("on disk: %q %v", disk, err)
	}
}
