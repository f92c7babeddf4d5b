// A second SDK, gopay, passes against the sandbox with only its host
// changed (SetProxyHost): codepay and reverse, which the official SDK lacks.
package wechat_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-pay/gopay"
	gopaywx "github.com/go-pay/gopay/wechat/v3"

	sandbox "github.com/multipos/multipos/sandbox/wechat"
)

// TestGopayCodepayAndReverse shows a second SDK passing: gopay's ClientV3,
// pointed at the sandbox with SetProxyHost, pays codes, reverses them and
// verifies every answer with the sandbox's public key.
func TestGopayCodepayAndReverse(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	k := keys()
	der, _ := x509.MarshalPKCS8PrivateKey(k.merchant)
	pub, _ := x509.MarshalPKIXPublicKey(e.sb.PublicKey())
	c, err := gopaywx.NewClientV3(mchID, serial, apiV3Key, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AutoVerifySignByPublicKey(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), e.sb.PublicKeyID()); err != nil {
		t.Fatal(err)
	}
	c.SetProxyHost(e.srv.URL)
	pay := func(out string) *gopaywx.CodePayRsp {
		bm := make(gopay.BodyMap)
		bm.Set("appid", appID).Set("description", "gopay").Set("out_trade_no", out).
			SetBodyMap("payer", func(b gopay.BodyMap) { b.Set("auth_code", authCode) }).
			SetBodyMap("amount", func(b gopay.BodyMap) { b.Set("total", 250).Set("currency", "CNY") }).
			SetBodyMap("scene_info", func(b gopay.BodyMap) {
				b.SetBodyMap("store_info", func(s gopay.BodyMap) { s.Set("out_id", "S1") })
			})
		rsp, err := c.V3TransactionCodePay(ctx, bm)
		if err != nil {
			t.Fatalf("codepay %s: %v", out, err)
		}
		return rsp
	}
	reverse := func(out string) {
		rsp, err := c.V3TransactionCodePayReverse(ctx, out, make(gopay.BodyMap).Set("appid", appID))
		if err != nil || rsp.Code != gopaywx.Success || rsp.Response.OutTradeNo != out {
			t.Fatalf("reverse %s: %+v, %v", out, rsp, err)
		}
	}
	query := func(out string) string {
		rsp, err := c.V3TransactionQueryOrder(ctx, gopaywx.OutTradeNo, out)
		if err != nil || rsp.Code != gopaywx.Success {
			t.Fatalf("query %s: %+v, %v", out, rsp, err)
		}
		return rsp.Response.TradeState
	}

	paid := "GP" + strconv.FormatInt(time.Now().UnixNano(), 10)
	rsp := pay(paid)
	if rsp.Code != gopaywx.Success || rsp.Response.TradeState != "SUCCESS" || rsp.Response.Amount.Total != 250 || rsp.Response.TransactionId == "" {
		t.Fatalf("codepay: %+v %+v", rsp, rsp.Response)
	}
	reverse(paid)
	if s := query(paid); s != "REVOKED" {
		t.Fatalf("after reverse: %s", s)
	}
	if o, _ := e.sb.Order(paid); o.Refunded != 250 {
		t.Fatalf("reversed order %+v: want 250 fen given back", o)
	}

	e.sb.NextCodepay(sandbox.CodeBehavior{Outcome: sandbox.CodeUserPaying})
	waiting := paid + "W"
	if rsp := pay(waiting); rsp.Code != gopaywx.Success || rsp.Response.TradeState != "USERPAYING" {
		t.Fatalf("codepay awaiting the password: %+v %+v", rsp, rsp.Response)
	}
	if s := query(waiting); s != "USERPAYING" {
		t.Fatalf("while paying: %s", s)
	}
	reverse(waiting)
	if s := query(waiting); s != "REVOKED" {
		t.Fatalf("after reverse: %s", s)
	}

	e.sb.NextCodepay(sandbox.CodeBehavior{Outcome: sandbox.CodePayError})
	if rsp := pay(paid + "E"); rsp.Code != http.StatusForbidden || rsp.ErrResponse.Code != "NOTENOUGH" {
		t.Fatalf("refused codepay: %+v", rsp)
	}
}

// TestGopayTradeBillAndDownload: gopay's V3BillTradeBill and
// V3BillDownLoadBill, set up as for WeChat Pay with only SetProxyHost
// added, fetch a bill whose download_url has the real shape; the SHA1 is of
// the uncompressed file; a planted change shows; a corrupted download
// no longer matches its SHA1.
func TestGopayTradeBillAndDownload(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	k := keys()
	der, _ := x509.MarshalPKCS8PrivateKey(k.merchant)
	pub, _ := x509.MarshalPKIXPublicKey(e.sb.PublicKey())
	c, err := gopaywx.NewClientV3(mchID, serial, apiV3Key, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AutoVerifySignByPublicKey(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), e.sb.PublicKeyID()); err != nil {
		t.Fatal(err)
	}
	c.SetProxyHost(e.srv.URL)
	out := "GB" + strconv.FormatInt(time.Now().UnixNano(), 10)
	bm := make(gopay.BodyMap)
	bm.Set("appid", appID).Set("description", "gopay").Set("out_trade_no", out).
		SetBodyMap("payer", func(b gopay.BodyMap) { b.Set("auth_code", authCode) }).
		SetBodyMap("amount", func(b gopay.BodyMap) { b.Set("total", 250).Set("currency", "CNY") })
	if rsp, err := c.V3TransactionCodePay(ctx, bm); err != nil || rsp.Code != gopaywx.Success {
		t.Fatalf("codepay: %+v, %v", rsp, err)
	}
	day := e.sb.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
	bill := func() *gopaywx.BillRsp {
		rsp, err := c.V3BillTradeBill(ctx, make(gopay.BodyMap).Set("bill_date", day).Set("bill_type", "ALL").Set("tar_type", "GZIP"))
		if err != nil {
			t.Fatal(err)
		}
		return rsp
	}
	if rsp := bill(); rsp.Code != 400 || rsp.ErrResponse.Code != "STATEMENT_CREATING" {
		t.Fatalf("today's bill: %+v", rsp)
	}
	if err := e.sb.PlantInBill(sandbox.BillChange{Kind: sandbox.BillAmount, Day: day, OutTradeNo: out, Amount: 260}); err != nil {
		t.Fatal(err)
	}
	toBillReady(e.sb)
	rsp := bill()
	if rsp.Code != gopaywx.Success || rsp.Response.HashType != "SHA1" ||
		!strings.HasPrefix(rsp.Response.DownloadUrl, "https://api.mch.weixin.qq.com/v3/billdownload/file?token=") {
		t.Fatalf("tradebill: %+v %+v", rsp, rsp.Response)
	}
	file, err := c.V3BillDownLoadBill(ctx, rsp.Response.DownloadUrl)
	if err != nil {
		t.Fatal(err)
	}
	z, err := gzip.NewReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(z)
	if sum := sha1.Sum(plain); hex.EncodeToString(sum[:]) != rsp.Response.HashValue {
		t.Fatalf("SHA1 %x, answer says %s", sum, rsp.Response.HashValue)
	}
	if !bytes.Contains(plain, []byte("`"+out+",")) || !bytes.Contains(plain, []byte("`2.60,")) {
		t.Fatalf("bill:\n%s", plain)
	}
	e.sb.CorruptNextBill()
	rsp = bill()
	file, err = c.V3BillDownLoadBill(ctx, rsp.Response.DownloadUrl)
	if err != nil {
		t.Fatal(err)
	}
	z, _ = gzip.NewReader(bytes.NewReader(file))
	plain, _ = io.ReadAll(z)
	if sum := sha1.Sum(plain); hex.EncodeToString(sum[:]) == rsp.Response.HashValue {
		t.Fatal("a corrupted bill still matches its SHA1")
	}
}
