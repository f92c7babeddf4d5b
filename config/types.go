package config

import (
	"time"

	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/money"
)

// Terminal is the cashier app's configuration (pos.toml).
type Terminal struct {
	Path       string    `toml:"-"`           // the file it was read from; "" for defaults
	TerminalID string    `toml:"terminal_id"` // e.g. "T0000001"
	Lang       i18n.Lang `toml:"lang"`        // zh or en
	Server     string    `toml:"server"`      // posserver base URL, e.g. "http://127.0.0.1:8080"
	StateDir   string    `toml:"state_dir"`   // trace counter, saved receipts; "" = user state dir
	PINKey     string    `toml:"pin_key"`     // terminal PIN key, 32 or 48 hex digits (TDES)
	Printer    Printer   `toml:"printer"`
	Keys       Keys      `toml:"keys"`
}

// Printer configures the receipt printer.
type Printer struct {
	Kind  string `toml:"kind"`  // "none" or "file" (a text file or a device such as /dev/usb/lp0)
	Path  string `toml:"path"`  // for kind "file"
	Width int    `toml:"width"` // characters per line: 32 (58 mm) or 48 (80 mm)
}

// Keys maps the POS keyboard to actions. Each action takes one or more Bubble
// Tea key names: "enter", "esc", "backspace", "f1", "ctrl+q", "*", … Digits
// 0-9 are always digits and cannot be bound.
type Keys struct {
	Confirm  []string `toml:"confirm"`
	Cancel   []string `toml:"cancel"`
	Delete   []string `toml:"delete"`
	Function []string `toml:"function"` // switches the language (中文/English)
	Symbol   []string `toml:"symbol"`   // "00" on the amount screen
	Quit     []string `toml:"quit"`
	// Trainer keys, active in demo mode only.
	CustomerPays     []string `toml:"customer_pays"`
	CustomerDeclines []string `toml:"customer_declines"`
	InsertCard       []string `toml:"insert_card"`
}

// Server is posserver's configuration (posserver.toml).
type Server struct {
	Path      string                 `toml:"-"`
	Listen    string                 `toml:"listen"` // e.g. "127.0.0.1:8080"
	DB        string                 `toml:"db"`     // SQLite file path
	QRTTL     time.Duration          `toml:"qr_ttl"` // life of a QR order, e.g. "2m"
	Merchant  Merchant               `toml:"merchant"`
	Terminals []TerminalEntry        `toml:"terminals"`
	Limits    map[string]ChannelRule `toml:"limits"` // keyed by channel: alipay, wechat, card
}

// Merchant identifies the merchant on receipts and at the channels.
type Merchant struct {
	ID   string `toml:"id"`   // 15 characters, as ISO 8583 field 42
	Name string `toml:"name"` // printed on receipts
}

// TerminalEntry is one terminal the server serves.
type TerminalEntry struct {
	ID     string `toml:"id"`
	PINKey string `toml:"pin_key"` // hex, the key the terminal encrypts PIN blocks under
}

// ChannelRule is one channel's switch and limits. Amounts are yuan text in
// the file ("50000.00") and fen in memory; 0 means no limit.
type ChannelRule struct {
	Enabled *bool     `toml:"enabled"` // nil = enabled
	Single  money.Fen `toml:"single"`  // per payment
	Daily   money.Fen `toml:"daily"`   // per terminal per day
}
