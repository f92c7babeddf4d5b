package alipay

import (
	"io"
	"net/http"
	"strings"
	"testing"

	smartwalle "github.com/smartwalle/alipay/v3"
)

// TestBillControlHTTP plants differences over HTTP; an empty day's bill
// query says bill_file_code EMPTY_DATA_WITH_BILL_FILE.
func TestBillControlHTTP(t *testing.T) {
	e := newEnv(t)
	post := func(path, body string) int {
		res, err := http.Post(e.srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	day := e.sb.Now().In(cst).Format("2006-01-02")
	if s := post("/control/bills", `{"kind":"unknown_payment","day":"`+day+`","out_trade_no":"X2","amount":500}`); s != 204 {
		t.Fatalf("unknown payment: %d", s)
	}
	if tr, found := e.sb.Trade("X2"); !found || tr.Status != StatusTradeSuccess {
		t.Fatalf("unknown payment not booked: %+v", tr)
	}
	for _, bad := range []string{`{"kind":"nonsense","day":"2026-12-01","out_trade_no":"X1"}`,
		`{"kind":"drop","day":"01/12/2026","out_trade_no":"X1"}`, `{"kind":"refund","day":"2026-12-01","out_trade_no":"NOPE","amount":1}`} {
		if s := post("/control/bills", bad); s != 400 {
			t.Errorf("%s: %d", bad, s)
		}
	}
	if s := post("/control/bills/corrupt_next", ``); s != 204 {
		t.Fatalf("corrupt_next: %d", s)
	}
	empty := e.sb.Now().AddDate(0, 0, -2).In(cst).Format("2006-01-02")
	v, err := e.client.URLValues(smartwalle.BillDownloadURLQuery{BillType: "trade", BillDate: empty})
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.PostForm(e.srv.URL+"/gateway.do", v)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), `"bill_file_code":"EMPTY_DATA_WITH_BILL_FILE"`) {
		t.Fatalf("empty day: %s", body)
	}
}
