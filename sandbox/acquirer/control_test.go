package acquirer

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/server/connector"
)

func controlDo(t *testing.T, srv *httptest.Server, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

// The control API shows the ledger as a checker needs it and arms the Go
// fault hooks over HTTP.
func TestControlLedgerAndFaults(t *testing.T) {
	f := start(t)
	srv := httptest.NewServer(f.h.ControlHandler())
	defer srv.Close()
	c := f.client(t, 300*time.Millisecond)
	good := card(t, "approved")
	sale(t, c, good, good.PIN, "000002", 1500)

	if st := controlDo(t, srv, "POST", "/control/faults", `{"drop_next":1,"fail_reversals":1}`, nil); st != http.StatusOK {
		t.Fatalf("faults: %d", st)
	}
	var armed ControlFaults
	controlDo(t, srv, "GET", "/control/faults", "", &armed)
	if armed != (ControlFaults{DropNext: 1, FailReversals: 1, FailCode: "96"}) {
		t.Fatalf("armed: %+v", armed)
	}
	_, err := c.Sale(context.Background(), saleOf(t, c, good, good.PIN, "000003", 700))
	if !errors.Is(err, connector.ErrUnknownOutcome) {
		t.Fatalf("dropped answer: %v", err)
	}
	rev := reversalOf("000003", 700)
	if err := c.Reverse(context.Background(), rev); err == nil {
		t.Fatal("the armed reversal failure did not fail")
	}
	var ledger []LedgerEntry
	if st := controlDo(t, srv, "GET", "/control/ledger?terminal="+term.TerminalID, "", &ledger); st != http.StatusOK {
		t.Fatalf("ledger: %d", st)
	}
	if len(ledger) != 2 || ledger[1].Index != 1 || ledger[1].Trace != "000003" || !ledger[1].Approved ||
		ledger[1].Reversed || ledger[1].Charged != 700 || ledger[0].Charged != 1500 || ledger[0].Type != "sale" ||
		ledger[0].TerminalID != term.TerminalID || ledger[0].MerchantID != term.MerchantID {
		t.Fatalf("ledger: %+v", ledger)
	}
	if strings.Contains(ledger[0].MaskedPAN, good.PAN) {
		t.Fatal("the full card number reached the control API")
	}
	if err := c.Reverse(context.Background(), rev); err != nil {
		t.Fatal(err)
	}
	ledger = nil
	controlDo(t, srv, "GET", "/control/ledger?since=1", "", &ledger)
	if len(ledger) != 1 || !ledger[0].Reversed || ledger[0].Charged != 0 {
		t.Fatalf("after the reversal: %+v", ledger)
	}
	ledger = nil
	controlDo(t, srv, "GET", "/control/ledger?terminal=T9", "", &ledger)
	if len(ledger) != 0 {
		t.Fatalf("another terminal's ledger: %+v", ledger)
	}
	armed = ControlFaults{}
	controlDo(t, srv, "GET", "/control/faults", "", &armed)
	if armed != (ControlFaults{}) {
		t.Fatalf("armed once spent: %+v", armed)
	}
	var calls map[string]int
	controlDo(t, srv, "GET", "/control/calls", "", &calls)
	if calls["calls"] != 2 || calls["reversals"] != 1 {
		t.Fatalf("calls: %v", calls)
	}
	for _, bad := range []string{`{"delay_next":"soon"}`, `{"drop_next":-1}`, `{"nope":1}`} {
		if st := controlDo(t, srv, "POST", "/control/faults", bad, nil); st != http.StatusBadRequest {
			t.Errorf("%s: %d", bad, st)
		}
	}
}
