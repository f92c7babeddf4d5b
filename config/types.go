package config

import (
	"time"

	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/money"
)

// Terminal is the cashier app's configuration (pos.toml). Who the station
// is (terminal id, certificate, keys) is not here but in its bundle, so that
// an identity is issued by the server and cannot be typed in wrong.
type Terminal struct {
	Path     string    `toml:"-"`         // the file it was read from; "" for defaults
	Bundle   string    `toml:"bundle"`    // terminal bundle from `posserver terminal add`, "" = none; resolved against the file's directory on load
	Lang     i18n.Lang `toml:"lang"`      // zh or en
	Server   string    `toml:"server"`    // posserver base URL, https://…; "" = the server URL in the bundle
	StateDir string    `toml:"state_dir"` // trace counter, saved receipts; "" = user state dir
	Printer  Printer   `toml:"printer"`
	Keys     Keys      `toml:"keys"`
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

// Server is posserver's configuration (posserver.toml). Merchants and
// terminals are not here but in the database, where `posserver terminal`
// changes them while the server runs.
type Server struct {
	Path             string                 `toml:"-"`
	Listen           string                 `toml:"listen"`            // terminal API (HTTPS, mutual TLS), e.g. "127.0.0.1:8443"
	OpsListen        string                 `toml:"ops_listen"`        // /healthz /readyz /metrics over plain HTTP; "" = off
	DB               string                 `toml:"db"`                // SQLite file path, or a postgres:// / postgresql:// URL
	PKIDir           string                 `toml:"pki_dir"`           // the server's CA, certificate and key-encryption key
	Hosts            []string               `toml:"hosts"`             // names and IPs the server certificate covers
	PublicURL        string                 `toml:"public_url"`        // the URL written into terminal bundles; "" = https://<first host>:<listen port>
	QRTTL            time.Duration          `toml:"qr_ttl"`            // life of a QR order, e.g. "2m"
	RequestRetention time.Duration          `toml:"request_retention"` // how long request ids are remembered for replays
	Limits           map[string]ChannelRule `toml:"limits"`            // per terminal, keyed by channel: alipay, wechat, card
	MerchantLimits   map[string]ChannelRule `toml:"merchant_limits"`   // per merchant (all its terminals together), keyed by channel
}

// ChannelRule is one channel's switch and limits. Amounts are yuan text in
// the file ("50000.00") and fen in memory; 0 means no limit.
type ChannelRule struct {
	Enabled *bool     `toml:"enabled"` // nil = enabled
	Single  money.Fen `toml:"single"`  // per payment
	Daily   money.Fen `toml:"daily"`   // per day: per terminal under limits, per merchant under merchant_limits
}
