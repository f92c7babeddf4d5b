package tui

import (
	"github.com/multipos/multipos/receipts/spool"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/devices"
	"github.com/multipos/multipos/devices/magstripe"
	"github.com/multipos/multipos/devices/wedge"
	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/money"
)

// Screen is one step of a flow. Update returns the screen that is active
// afterwards: returning another screen is how a screen change happens, inside
// the same Update call.
type Screen interface {
	Update(msg tea.Msg) (Screen, tea.Cmd)
	View() string
	Help() []key.Binding
	// Name identifies the screen for tests and logs ("channels", "qr", …).
	Name() string
}

// paying is implemented by screens that belong to a payment; async results
// for any other payment id are dropped.
type paying interface {
	Payment() *payment
	// Busy reports whether leaving now could leave something half-done.
	Busy() bool
}

// Common is shared by every screen: settings, styles, keys, size, language
// and what the station knows about its server and devices. It is only touched
// from Update, never from a tea.Cmd.
type Common struct {
	opts Options
	// wedge holds digits back for a moment to tell the barcode scanner
	// from the cashier's typing; passing is set while keys it released go
	// through.
	wedge wedge.Detector[tea.KeyMsg]
	// stripe picks magstripe swipes (a keyboard-wedge reader's bursts) out
	// of the keys first; what it lets go goes on to wedge.
	stripe  magstripe.Detector[tea.KeyMsg]
	passing bool
	Lang    i18n.Lang
	Keys    KeyMap
	Styles  Styles
	Width   int
	Height  int

	// Wrong supervisor passwords in a row, and until when the supervisor
	// screen is locked after too many.
	supFails  int
	supLocked time.Time

	// Card sign-on (签到): whether one is out, and how the last one went.
	signingOn  bool
	signOnErr  error
	signOnTime time.Time

	Info        api.TerminalInfo
	InfoOK      bool
	InfoErr     error // why the last terminal-info request failed
	infoPending bool
	// skew is the server's clock minus ours: QR expiry times are the
	// server's, and a counter PC's clock can be minutes off.
	skew time.Duration

	LinkKnown bool
	LinkUp    bool
	LinkRTT   time.Duration
	LinkErr   string
	Printer   devices.PrinterState
	Queued    int // receipts waiting in the print queue
	// printNews keeps the queue's last word on recent jobs, for a screen
	// whose answer to Add comes after the job's news.
	printNews  map[string]spool.Event
	Reader     devices.ReaderState
	Power      [2]string // status-bar text in zh and en
	Clock      time.Time
	Flash      string // one-shot message from the root (e.g. quit refused)
	lastPayID  int
	lastResult api.Order
	// acks are results shown on screen, to acknowledge with the next
	// heartbeat; Unseen are results the server says this terminal never
	// acknowledged (it was stopped or cut off while waiting), shown on the
	// channel list.
	acks   []string
	Unseen []api.Order
}

// demo reports whether this is training mode: the app's own demo, or a
// server that says its channels are stand-ins. Either way every screen and
// receipt is marked 演示 DEMO.
func (c *Common) demo() bool { return c.opts.Demo || (c.InfoOK && c.Info.Demo) }

func (c *Common) t(key string) string            { return T(c.Lang, key) }
func (c *Common) tf(key string, a ...any) string { return Tf(c.Lang, key, a...) }
func (c *Common) now() time.Time                 { return c.opts.Now() }

// serverNow is the server's time as best known here.
func (c *Common) serverNow() time.Time { return c.opts.Now().Add(c.skew) }

// channelInfo returns what the server said about ch; ok is false when the
// terminal has not heard from the server yet.
func (c *Common) channelInfo(ch api.Channel) (api.ChannelInfo, bool) {
	if !c.InfoOK {
		return api.ChannelInfo{Channel: ch, Enabled: true}, false
	}
	for _, i := range c.Info.Channels {
		if i.Channel == ch {
			return i, true
		}
	}
	return api.ChannelInfo{Channel: ch}, true
}

// newPayment starts a payment on ch with a fresh id.
func (c *Common) newPayment(ch api.Channel) *payment {
	c.lastPayID++
	return &payment{id: c.lastPayID, channel: ch}
}

// payment is one payment attempt from amount entry to receipt.
type payment struct {
	id      int
	channel api.Channel
	amount  money.Fen
	trace   string
	reqID   string // the request id the card sale is sent under, with trace
	order   api.Order
	expired bool // the terminal closed the order because its QR code expired

	// Card sales: the card is held in memory only until the sale is answered.
	card     cards.Card
	pinBlock [8]byte
	hasPIN   bool

	// Bank-card operations other than a sale: kind is api.KindCardVoid,
	// api.KindCardRefund or kindBalance ("" is a sale); original is the
	// sale a void or refund undoes; balance is a balance inquiry's answer.
	kind     api.Kind
	original api.Order
	balance  api.Balance
}

// kindBalance marks a balance inquiry (余额查询): it moves no money, so the
// server keeps no order of it.
const kindBalance api.Kind = "card_balance"

// opLabel is the menu text key of the card operation a payment is.
func (p *payment) opLabel() string {
	switch p.kind {
	case api.KindCardVoid:
		return "menu.void"
	case api.KindCardRefund:
		return "menu.return"
	case kindBalance:
		return "menu.balance"
	}
	return "menu.sale"
}

// forgetCard drops the full card data once it is no longer needed.
func (p *payment) forgetCard() {
	// Keep a masked PAN in the PAN field, so later screens and receipts can
	// only ever show the masked form (Mask of a masked number is itself).
	p.card = cards.Card{Entry: p.card.Entry, Expiry: p.card.Expiry, PAN: cards.Mask(p.card.PAN)}
	p.pinBlock = [8]byte{}
}

// channelName is the bilingual brand name shown everywhere.
func channelName(ch api.Channel) string {
	switch ch {
	case api.Alipay:
		return "支付宝 Alipay"
	case api.WeChat:
		return "微信支付 WeChat Pay"
	case api.Card:
		return "银行卡 Bank card"
	}
	return string(ch)
}
