package wechat_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/native"

	sandbox "github.com/multipos/multipos/sandbox/wechat"
)

// GET /control/orders lists the books a checker reconciles a journal
// against, by out_trade_no prefix.
func TestControlOrdersList(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	svc := native.NativeApiService{Client: e.sdk}
	stamp := strconv.FormatInt(time.Now().UnixNano(), 10)
	for i, prefix := range []string{"AAA", "AAA", "BBB"} {
		out := prefix + stamp + strconv.Itoa(i)
		if _, _, err := svc.Prepay(ctx, native.PrepayRequest{Appid: core.String(appID), Mchid: core.String(mchID),
			Description: core.String("x"), OutTradeNo: core.String(out), NotifyUrl: core.String("http://127.0.0.1:1/n"),
			Amount: &native.Amount{Total: core.Int64(int64(100 + i))}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.sb.Pay("AAA" + stamp + "1"); err != nil {
		t.Fatal(err)
	}
	list := func(query string) []sandbox.OrderInfo {
		resp, err := http.Get(e.srv.URL + "/control/orders" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out []sandbox.OrderInfo
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %v", query, resp.StatusCode, err)
		}
		return out
	}
	if all := list(""); len(all) != 3 {
		t.Fatalf("every order: %+v", all)
	}
	aaa := list("?prefix=AAA")
	if len(aaa) != 2 || aaa[1].TradeState != "SUCCESS" || aaa[1].Total != 101 || aaa[0].TradeState != "NOTPAY" {
		t.Fatalf("AAA orders: %+v", aaa)
	}
	if both := list("?prefix=AAA&prefix=BBB"); len(both) != 3 {
		t.Fatalf("two prefixes: %+v", both)
	}
	if none := list("?prefix=ZZZ"); len(none) != 0 {
		t.Fatalf("no such prefix: %+v", none)
	}
}
