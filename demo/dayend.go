package demo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/multipos/multipos/demo/standins"
	"github.com/multipos/multipos/internal/privfile"
	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/sandbox/acquirer"
	alipaysb "github.com/multipos/multipos/sandbox/alipay"
	wechatsb "github.com/multipos/multipos/sandbox/wechat"
	"github.com/multipos/multipos/server"
	"github.com/multipos/multipos/server/reconcile"
	"github.com/multipos/multipos/tui"
)

// The run folder's files a separate posserver reads: the configuration
// `posserver reconcile` runs with, and what the end of the day planted.
const (
	ServerConfigFile = "posserver.toml"
	PlantedFile      = "end-of-day.txt"
)

// The differences the end of the day plants, fixed so that a trainer's
// notes stay true from run to run.
const (
	AlipayUnknownTrade = "DEMO_ALIPAY_UNKNOWN_1" // an Alipay payment the journal never saw
	AlipayUnknownFen   = 1888
	WeChatRefundNo     = "DEMO_WECHAT_REFUND_1"  // a refund made in WeChat Pay's merchant platform
	WeChatRefundFen    = 100                     // at most: a cheaper payment is refunded whole
	WeChatUnknownTrade = "DEMO_WECHAT_UNKNOWN_1" // when the trainer took no WeChat Pay payment
	WeChatUnknownFen   = 666
	CardPlantedTrace   = "900001" // a sale the acquirer booked that the terminal never sent
	CardPlantedFen     = 2500
)

// Planted is one difference the end of the day planted, as
// reconciliation must report it: channel, class and the keys.
type Planted struct {
	Channel     string // alipay, wechat or card
	Class       string // reconcile.Class: channel_only, refund_differs
	OutTradeNo  string // wallets
	OutRefundNo string // a wallet refund
	Batch       string // card
	Trace       string // card
	Amount      int64  // fen
	ZH, EN      string // what it is, for the trainer
}

// DayEnd is what the end of the day did.
type DayEnd struct {
	Day     string // the business day closed, YYYY-MM-DD
	Config  string // the run's posserver.toml
	Command string // the reconciliation to run from a second shell
	File    string // PlantedFile: the planted differences, for trainers
	Planted []Planted
	Again   bool // the day had been ended already: nothing changed
}

// writeServerConfig writes the run's posserver.toml: this run's journal
// and sandboxes, for `posserver reconcile` run from a second shell while
// the demo runs (SQLite in WAL mode with a busy timeout lets the two
// processes share the journal).
func (e *Env) writeServerConfig(notifyAddr string) error {
	walletText, err := e.Wallets.WriteServerFiles(filepath.Join(e.Dir, "keys"), standinsFiles(notifyAddr, e.Bank.Addr))
	if err != nil {
		return fmt.Errorf("demo server config: %w", err)
	}
	body, err := readText(walletText)
	if err != nil {
		return fmt.Errorf("demo server config: %w", err)
	}
	head := fmt.Sprintf(`# posserver on this demo run's journal and sandboxes, for the end of the
# day: posserver reconcile --config %s -date YYYY-MM-DD
# Written by pos --demo; valid while it runs (the sandboxes' ports change
# with every run).
db = %q
business_zone = %q
bills_dir = %q
reconcile_at = "off"
`, filepath.Join(e.Dir, ServerConfigFile), filepath.Join(e.Dir, "posserver.db"), server.DefaultZone().String(),
		filepath.Join(e.Dir, "bills"))
	text := head + "\n" + body + fmt.Sprintf("settlement_files = %q\n", filepath.Join(e.Dir, "settlement", "settlement-{date}.csv"))
	if err := privfile.WriteFile(filepath.Join(e.Dir, ServerConfigFile), []byte(text), nil); err != nil {
		return fmt.Errorf("demo server config: %w", err)
	}
	return nil
}

// EndDay is the trainer's 日结 key: see EndTheDay.
func (e *Env) EndDay(ctx context.Context) (tui.DayEnded, error) {
	d, err := e.EndTheDay(ctx)
	return tui.DayEnded{Day: d.Day, Command: d.Command, File: d.File, Again: d.Again}, err
}

// EndTheDay ends the business day for a trainer: it plants the demo's
// fixed differences in the channels' books (see the package doc), moves
// the sandboxes' business clocks to 10:30 the next day, when the day's
// bills and the acquirer's settlement file are ready, and writes
// PlantedFile. The server keeps the real clock, so the station goes on
// taking payments (on today's journal, tomorrow's bills). Once a run.
func (e *Env) EndTheDay(ctx context.Context) (DayEnd, error) {
	e.dayMu.Lock()
	defer e.dayMu.Unlock()
	if e.dayEnd.Day != "" {
		d := e.dayEnd
		d.Again = true
		return d, nil
	}
	zone := server.DefaultZone()
	now := e.now().In(zone)
	day := now.Format(time.DateOnly)
	planted, err := e.plant(ctx, day, now)
	if err != nil {
		return DayEnd{}, err
	}
	y, m, dd := now.Date()
	next := time.Date(y, m, dd+1, 10, 30, 0, 0, zone)
	e.Wallets.Alipay.Advance(next.Sub(e.Wallets.Alipay.Now()))
	e.Wallets.WeChat.Advance(next.Sub(e.Wallets.WeChat.Now()))
	e.Bank.Host.Advance(next.Sub(e.Bank.Host.Now()))
	// The cut wrote the file in the background; written here too, so that
	// it is there when the trainer reads the command.
	if _, err := e.Bank.Host.WriteSettlement(time.Date(y, m, dd, 0, 0, 0, 0, zone)); err != nil {
		return DayEnd{}, fmt.Errorf("end of the day: %w", err)
	}
	d := DayEnd{Day: day, Config: filepath.Join(e.Dir, ServerConfigFile), File: filepath.Join(e.Dir, PlantedFile), Planted: planted}
	d.Command = "posserver reconcile --config " + d.Config + " -date " + day
	if err := privfile.WriteFile(d.File, []byte(plantedText(d)), nil); err != nil {
		return DayEnd{}, fmt.Errorf("end of the day: %w", err)
	}
	e.dayEnd = d
	e.Log.Info("demo: day ended", "day", day, "planted", len(planted), "file", d.File)
	return d, nil
}

// plant puts one difference in each channel's books of day, at now.
func (e *Env) plant(ctx context.Context, day string, now time.Time) ([]Planted, error) {
	ali := Planted{Channel: "alipay", Class: reconcile.ChannelOnly.String(), OutTradeNo: AlipayUnknownTrade, Amount: AlipayUnknownFen,
		ZH: "支付宝有、流水没有的一笔收款（长款）", EN: "an Alipay payment the journal never saw"}
	if err := e.Wallets.Alipay.PlantInBill(alipaysb.BillChange{Kind: alipaysb.BillUnknownPayment, Day: day,
		OutTradeNo: AlipayUnknownTrade, Amount: AlipayUnknownFen, At: now}); err != nil {
		return nil, fmt.Errorf("end of the day: alipay: %w", err)
	}
	wx, err := e.plantWeChat(ctx, day, now)
	if err != nil {
		return nil, err
	}
	info, err := e.Client.Terminal(ctx)
	if err != nil {
		return nil, fmt.Errorf("end of the day: the open card batch: %w", err)
	}
	card := Planted{Channel: "card", Class: reconcile.ChannelOnly.String(), Batch: info.Batch, Trace: CardPlantedTrace,
		Amount: CardPlantedFen, ZH: "收单行记了、终端从未发送的一笔银行卡消费", EN: "a card sale the acquirer booked that the terminal never sent"}
	if _, err := e.Bank.Host.AddEntry(acquirerPlant(e.TerminalID, info.Batch)); err != nil {
		return nil, fmt.Errorf("end of the day: card: %w", err)
	}
	return []Planted{ali, wx, card}, nil
}

// plantWeChat refunds one of the day's WeChat Pay payments in the
// merchant platform, behind the journal's back; with none, it books a
// payment the journal never saw.
func (e *Env) plantWeChat(ctx context.Context, day string, now time.Time) (Planted, error) {
	j, _, err := e.Store.ReconJournal(ctx, "wechat", day, day, day)
	if err != nil {
		return Planted{}, fmt.Errorf("end of the day: wechat journal: %w", err)
	}
	refunded := map[string]bool{}
	for _, r := range j.Refunds {
		refunded[r.OutTradeNo] = true
	}
	for _, o := range j.Orders {
		if o.State != reconcile.OrderPaid || o.Day != day || refunded[o.OutTradeNo] {
			continue
		}
		amount := min(o.Amount, WeChatRefundFen)
		if err := e.Wallets.WeChat.PlantInBill(wechatChange(wechatsb.BillRefund, day, o.OutTradeNo, amount, now)); err != nil {
			return Planted{}, fmt.Errorf("end of the day: wechat: %w", err)
		}
		return Planted{Channel: "wechat", Class: reconcile.RefundDiffers.String(), OutTradeNo: o.OutTradeNo, OutRefundNo: WeChatRefundNo,
			Amount: amount, ZH: "在商户平台退的款，流水没有", EN: "a refund made in the merchant platform, not in the journal"}, nil
	}
	if err := e.Wallets.WeChat.PlantInBill(wechatChange(wechatsb.BillUnknownPayment, day, WeChatUnknownTrade, WeChatUnknownFen, now)); err != nil {
		return Planted{}, fmt.Errorf("end of the day: wechat: %w", err)
	}
	return Planted{Channel: "wechat", Class: reconcile.ChannelOnly.String(), OutTradeNo: WeChatUnknownTrade, Amount: WeChatUnknownFen,
		ZH: "微信支付有、流水没有的一笔收款（长款）", EN: "a WeChat Pay payment the journal never saw"}, nil
}

// plantedText is PlantedFile: the command, then the differences.
func plantedText(d DayEnd) string {
	var b strings.Builder
	fmt.Fprintf(&b, "日结 End of day %s (pos --demo)\n\n", d.Day)
	fmt.Fprintf(&b, "核销 Reconcile, from a second shell while the demo runs:\n\n  %s\n\n", d.Command)
	fmt.Fprintf(&b, "埋下的差异 Planted differences (reconciliation must list these and nothing else):\n\n")
	for i, p := range d.Planted {
		key := p.OutTradeNo
		switch {
		case p.Channel == "card":
			key = "batch " + p.Batch + " trace " + p.Trace
		case p.OutRefundNo != "":
			key += " refund " + p.OutRefundNo
		}
		fmt.Fprintf(&b, "%d. %-6s %-14s %s  %s\n   %s\n   %s\n", i+1, p.Channel, p.Class, key, money.Fen(p.Amount).Grouped(), p.ZH, p.EN)
	}
	return b.String()
}

func standinsFiles(notify, bank string) standins.ServerFiles {
	return standins.ServerFiles{Notify: notify, Bank: bank}
}

func readText(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func wechatChange(kind wechatsb.BillChangeKind, day, outTradeNo string, amount int64, at time.Time) wechatsb.BillChange {
	c := wechatsb.BillChange{Kind: kind, Day: day, OutTradeNo: outTradeNo, Amount: amount, At: at}
	if kind == wechatsb.BillRefund {
		c.OutRefundNo = WeChatRefundNo
	}
	return c
}

// acquirerPlant is the card sale of the end of the day, in the
// terminal's open batch under a trace it will not reach in training.
func acquirerPlant(terminal, batch string) acquirer.Planted {
	return acquirer.Planted{TerminalID: terminal, MerchantID: MerchantID, Batch: batch, Trace: CardPlantedTrace,
		Type: acquirer.Sale, Amount: CardPlantedFen}
}
