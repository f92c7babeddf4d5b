package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/demo"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/sandbox/acquirer"
)

// trainerDay takes the payments a trainer takes in `pos --demo`: an
// Alipay QR code paid, a WeChat Pay payment code, an order cancelled,
// two card sales, the card batch settled as the station settles it, one
// more card sale. It returns the number of payments per channel.
func trainerDay(t *testing.T, env *demo.Env) map[string]int {
	t.Helper()
	ctx := context.Background()
	next := func() string {
		tr, err := env.Traces.Next()
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	o, err := env.Client.CreateWalletOrder(ctx, posclient.NewRequestID(), api.CreateWalletOrder{Trace: next(), Channel: api.Alipay, Amount: 1234})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.CustomerPays(ctx, api.Alipay, o.OutTradeNo); err != nil {
		t.Fatal(err)
	}
	for o.State != api.StateSuccess {
		if o, err = env.Client.WaitOrder(ctx, o.ID, o.Version, 5*time.Second); err != nil || o.State.Final() && o.State != api.StateSuccess {
			t.Fatalf("alipay QR: %+v, %v", o, err)
		}
	}
	code, err := env.ShowCode(ctx, api.WeChat, false)
	if err != nil {
		t.Fatal(err)
	}
	if o, err := env.Client.CreateBarcodeOrder(ctx, posclient.NewRequestID(),
		api.CreateBarcodeOrder{Trace: next(), Channel: api.WeChat, Amount: 2345, AuthCode: code}); err != nil || o.State != api.StateSuccess {
		t.Fatalf("wechat payment code: %+v, %v", o, err)
	}
	c, err := env.Client.CreateWalletOrder(ctx, posclient.NewRequestID(), api.CreateWalletOrder{Trace: next(), Channel: api.Alipay, Amount: 999})
	if err != nil {
		t.Fatal(err)
	}
	if c, err = env.Client.CancelOrder(ctx, c.ID); err != nil || c.State == api.StateSuccess {
		t.Fatalf("cancel: %+v, %v", c, err)
	}
	card := acquirer.TestCards()[0]
	sale := func(amount int64) {
		blk, err := env.CardKeys.EncryptPIN([]byte(card.PIN), card.PAN)
		if err != nil {
			t.Fatal(err)
		}
		o, err := env.Client.CardSale(ctx, posclient.NewRequestID(), api.CardSale{Trace: next(), Amount: amount, PAN: card.PAN,
			Expiry: card.Expiry, Track2: card.Track2, Entry: "chip", PINBlock: hex.EncodeToString(blk[:])})
		if err != nil || o.State != api.StateSuccess {
			t.Fatalf("card sale: %+v, %v", o, err)
		}
	}
	sale(500)
	sale(1500)
	info, err := env.Client.Terminal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client.Settle(ctx, posclient.NewRequestID(), api.SettleBatch{Batch: info.Batch, Operator: "01"}); err != nil {
		t.Fatalf("settle: %v", err)
	}
	sale(800)
	return map[string]int{"alipay": 1, "wechat": 1, "card": 3}
}

// The demo: a trainer takes payments, ends the day (日结), and
// `posserver reconcile` with the run's posserver.toml, as printed for a
// second shell, lists every planted difference and nothing else; the
// trainer's payments all match.
func TestDemoEndOfDayReconciles(t *testing.T) {
	env := startDayDemo(t)
	d := endAndReconcile(t, env, trainerDay(t, env))
	if d.Planted[1].Class != "refund_differs" {
		t.Fatalf("planted %+v", d.Planted)
	}
	ctx := context.Background()
	// The demo goes on: a second end of the day changes nothing, and the
	// station still takes a QR payment on the advanced sandboxes.
	if again, err := env.EndTheDay(ctx); err != nil || !again.Again || again.Command != d.Command {
		t.Fatalf("second end of the day: %+v, %v", again, err)
	}
	tr, _ := env.Traces.Next()
	o, err := env.Client.CreateWalletOrder(ctx, posclient.NewRequestID(), api.CreateWalletOrder{Trace: tr, Channel: api.WeChat, Amount: 100})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.CustomerPays(ctx, api.WeChat, o.OutTradeNo); err != nil {
		t.Fatalf("a QR payment after the end of the day: %v", err)
	}
	for o.State != api.StateSuccess {
		if o, err = env.Client.WaitOrder(ctx, o.ID, o.Version, 5*time.Second); err != nil || o.State.Final() && o.State != api.StateSuccess {
			t.Fatalf("a QR payment after the end of the day: %+v, %v", o, err)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// cardKey is how a card exception names its transaction.
func cardKey(terminal, batch, trace string) string { return terminal + "/" + batch + "/" + trace }

func startDayDemo(t *testing.T) *demo.Env {
	t.Helper()
	env, err := demo.Start(context.Background(), demo.Options{Dir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	return env
}

// A day without a payment: WeChat Pay's difference is then a payment
// the journal never saw, and nothing else is reported either.
func TestDemoEndOfDayWithoutPayments(t *testing.T) {
	env := startDayDemo(t)
	d := endAndReconcile(t, env, map[string]int{"alipay": 0, "wechat": 0, "card": 0})
	if d.Planted[1].OutTradeNo != demo.WeChatUnknownTrade || d.Planted[1].Class != "channel_only" {
		t.Fatalf("planted %+v", d.Planted)
	}
}

// endAndReconcile ends the demo's day, runs the printed command and
// checks that the open exceptions are the planted ones and the matched
// counts what the trainer took.
func endAndReconcile(t *testing.T, env *demo.Env, matched map[string]int) demo.DayEnd {
	t.Helper()
	ctx := context.Background()
	d, err := env.EndTheDay(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Planted) != 3 {
		t.Fatalf("planted %+v", d.Planted)
	}
	for _, p := range []string{d.Config, d.File} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", p, fi, err)
		}
	}
	if !strings.HasSuffix(d.Command, " -date "+d.Day) {
		t.Fatalf("command %q", d.Command)
	}
	args := strings.Fields(d.Command)[1:]
	out := mustCLI(t, args...)
	for _, section := range strings.Split(out, "核销 Reconciliation ")[1:] {
		ch := strings.TrimSpace(strings.SplitN(strings.SplitN(section, "·", 2)[1], ":", 2)[0])
		if !strings.Contains(section, "完成 done") || !hasCount(section, "已勾对 matched", itoa(matched[ch])) {
			t.Errorf("%s: want done with %d matched:\n%s", ch, matched[ch], section)
		}
		delete(matched, ch)
	}
	if len(matched) != 0 {
		t.Fatalf("channels not reconciled %v:\n%s", matched, out)
	}

	var exs []struct {
		Day         string `json:"day"`
		Channel     string `json:"channel"`
		Class       string `json:"class"`
		OutTradeNo  string `json:"out_trade_no"`
		OutRefundNo string `json:"out_refund_no"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, "reconcile", "exceptions", "--config", d.Config, "-format", "json")), &exs); err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, e := range exs {
		got = append(got, strings.Join([]string{e.Day, e.Channel, e.Class, e.OutTradeNo, e.OutRefundNo}, "|"))
	}
	for _, p := range d.Planted {
		key := p.OutTradeNo
		if p.Channel == "card" {
			key = cardKey(env.TerminalID, p.Batch, p.Trace)
		}
		want = append(want, strings.Join([]string{d.Day, p.Channel, p.Class, key, p.OutRefundNo}, "|"))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("open exceptions\n%s\nwant the planted ones\n%s\n(reconcile said:\n%s)", strings.Join(got, "\n"), strings.Join(want, "\n"), out)
	}

	return d
}
