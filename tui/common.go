package tui

import (
	"context"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/receipts/spool"
)

// Common is what every screen reads and none writes: the app's context,
// the window size, styles, keys and language (soft-serve's ui/common). The
// root model alone changes it, in Update.
type Common struct {
	// ctx is the app's: every command derives its context from it, and
	// the root cancels it when the app quits.
	ctx    context.Context
	Width  int
	Height int
	Styles Styles
	Keys   KeyMap
	Lang   i18n.Lang
}

func (c *Common) t(key string) string            { return T(c.Lang, key) }
func (c *Common) tf(key string, a ...any) string { return Tf(c.Lang, key, a...) }

// facts is what screens may read of what the station knows about its
// server and devices. The root's components (server, sign-on, status bar,
// print log) own these facts and only they change them.
type facts interface {
	// channelInfo returns what the server said about ch; known is false
	// while the terminal has not heard from the server.
	channelInfo(ch api.Channel) (info api.ChannelInfo, known bool)
	// terminal is the terminal info, whether it is known, and why the
	// last request for it failed.
	terminal() (info api.TerminalInfo, ok bool, err error)
	// offline is true when the server is known to be out of reach.
	offline() bool
	// serverNow is the server's time as best known here: QR expiry times
	// are the server's, and a counter PC's clock can be minutes off.
	serverNow() time.Time
	// demo is training mode: the app's own demo, or a server that says its
	// channels are stand-ins.
	demo() bool
	// unseen are results the server says this terminal never acknowledged.
	unseen() []api.Order
	keys() keyState
	// printNews is the queue's last word on job, for a screen whose
	// answer to Add comes after the job's news.
	printNews(job string) (spool.Event, bool)
	queued() int
}

// keyState is the card sign-on (签到) as screens see it.
type keyState struct {
	none   bool // the terminal takes no cards (no master key)
	busy   bool // a sign-on is out
	signed bool // working keys are installed
	err    error
	at     time.Time // when the last sign-on succeeded
}

// base is embedded by every screen: what it reads, never writes, and the
// behaviour all screens share (crush's rule: shared behaviour by embedding).
type base struct {
	c  *Common
	o  *Options // the wiring: server, devices, settings
	st facts
}

func (b base) now() time.Time { return b.o.Now() }

// Init starts nothing by default.
func (b base) Init() tea.Cmd { return nil }

// MinSize is the 80×24 counter screen unless a screen says otherwise.
func (b base) MinSize() (int, int) { return 80, 21 }

// Screen is one step of a flow (soft-serve's pages). Update returns what
// follows: nil to stay, or a next the router turns into the next screen
// inside the same Update call, so that a burst of keys never races a
// screen change.
type Screen interface {
	Init() tea.Cmd
	Update(msg tea.Msg) (next, tea.Cmd)
	View() string
	Help() []key.Binding
	// Name identifies the screen for tests and logs ("channels", "qr", …).
	Name() string
	// MinSize is the smallest width the screen can be drawn in whole, and
	// the lines its body needs there; the root adds the header, the help
	// and the status bar.
	MinSize() (w, body int)
}

// paying is implemented by screens that belong to a payment; async results
// for any other payment id are dropped.
type paying interface {
	Payment() *payment
	// Busy reports whether leaving now could leave something half-done.
	Busy() bool
}

// resumeMsg tells a screen it is active again, after the one that followed
// it finished; hint says why, when there is something to say.
type resumeMsg struct{ hint text }

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
