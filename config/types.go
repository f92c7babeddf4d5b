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
	// SupervisorPassword (主管密码) must be typed before a card void or
	// refund: 4 to 12 digits; "" turns voids and refunds off.
	SupervisorPassword string `toml:"supervisor_password"`
	Reader             Reader `toml:"reader"`
}

// Reader configures the chip card reader.
type Reader struct {
	Kind string `toml:"kind"` // "none" or "pcsc" (a PC/SC reader through pcscd)
	Name string `toml:"name"` // pcsc: the reader's name, or a part of it; "" = every reader
}

// Printer configures the receipt printer.
type Printer struct {
	// Kind is where receipts go: "none" (on screen only), "usb", "tcp"
	// (raw port 9100), "file" (ESC/POS to a device file such as
	// /dev/usb/lp0 or a serial port) or "text" (plain text appended to a
	// file, for a log or a printer that takes text).
	Kind      string `toml:"kind"`
	Path      string `toml:"path"`       // file, text: the file or device
	Addr      string `toml:"addr"`       // tcp: host or host:port
	USB       string `toml:"usb"`        // usb: "VID:PID" in hex, e.g. "0416:5011"; "" = the first printer-class device
	USBDetach *bool  `toml:"usb_detach"` // usb: detach the kernel's usblp driver first (default true)
	Width     int    `toml:"width"`      // characters per line: 32 (58 mm) or 48 (80 mm); a profile's width wins
	// Profile names the printer model's profile: a built-in one ("58mm",
	// "80mm", "80mm-nochinese") or one of Profiles. "" = by width.
	Profile  string                    `toml:"profile"`
	Profiles map[string]PrinterProfile `toml:"profiles"`
}

// PrinterProfile is what a printer model needs: see receipts.Profile.
type PrinterProfile struct {
	Width    int    `toml:"width"`    // 32 or 48
	Chinese  string `toml:"chinese"`  // "fs" (FS & / FS .), "always" (always in Chinese mode), "none" (no Chinese font: English receipts)
	CodePage int    `toml:"codepage"` // ESC t table for single-byte text, 0–255
	Cut      string `toml:"cut"`      // "partial", "full" or "none" (no cutter)
	Feed     int    `toml:"feed"`     // lines fed before the cut, 0–20; 0 = 4
	Drawer   int    `toml:"drawer"`   // cash drawer pin: 2 or 5, 0 = none
	QRSize   int    `toml:"qr_size"`  // QR module size in dots, 1–16; 0 = by width
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
	PaperOut         []string `toml:"paper_out"` // the demo printer runs out of paper, or is refilled
	EndDay           []string `toml:"end_day"`   // the demo's business day ends (日结): bills ready, differences planted
}

// Server is posserver's configuration (posserver.toml). Merchants and
// terminals are not here but in the database, where `posserver terminal`
// changes them while the server runs.
type Server struct {
	Path             string        `toml:"-"`
	Listen           string        `toml:"listen"`            // terminal API (HTTPS, mutual TLS), e.g. "127.0.0.1:8443"
	OpsListen        string        `toml:"ops_listen"`        // /healthz /readyz /metrics over plain HTTP; "" = off
	DB               string        `toml:"db"`                // SQLite file path, or a postgres:// / postgresql:// URL
	PKIDir           string        `toml:"pki_dir"`           // the server's CA, certificate and key-encryption key
	Hosts            []string      `toml:"hosts"`             // names and IPs the server certificate covers
	PublicURL        string        `toml:"public_url"`        // the URL written into terminal bundles; "" = https://<first host>:<listen port>
	QRTTL            time.Duration `toml:"qr_ttl"`            // life of a QR order, e.g. "2m"
	RequestRetention time.Duration `toml:"request_retention"` // how long request ids are remembered for replays
	// BusinessZone is the IANA name of the zone the chain's business day
	// is reckoned in (daily limits and totals, voids, batches, bills),
	// whatever zone the server's clock or database runs in.
	BusinessZone   string                 `toml:"business_zone"`
	Limits         map[string]ChannelRule `toml:"limits"`          // per terminal, keyed by channel: alipay, wechat, card
	MerchantLimits map[string]ChannelRule `toml:"merchant_limits"` // per merchant (all its terminals together), keyed by channel
	// NotifyListen is where the wallets post payment results (plain HTTP:
	// put the operator's TLS front end before it); "" = off.
	NotifyListen string  `toml:"notify_listen"`
	Alipay       *Alipay `toml:"alipay"` // nil: Alipay is off, or in demo mode on its sandbox
	WeChat       *WeChat `toml:"wechat"` // nil: WeChat Pay is off, or in demo mode on its sandbox
	Bank         *Bank   `toml:"bank"`   // nil: card payments are off, or in demo mode on the stand-in acquirer host
	// Demo is training mode (also `posserver serve --demo`): a channel
	// without its section runs on an in-process stand-in, the trainer
	// endpoints are on, and terminals mark every screen and receipt 演示 DEMO.
	Demo bool `toml:"demo"`
	// Keys says where the key sealing pki_dir's private keys comes from.
	Keys SealKeys `toml:"keys"`

	// How the server times its work with the channels (see timing.go).
	ChannelTimeout time.Duration          `toml:"channel_timeout"` // one call to a channel; past it the outcome is unknown
	SweepInterval  time.Duration          `toml:"sweep_interval"`  // how often the sweeper looks for open transactions
	Confirm        map[string]ConfirmRule `toml:"confirm"`         // per wallet: following a payment code the customer confirms on the phone
	// SettleCutoff is when card batches still open are settled by
	// posserver itself: "HH:MM" in business_zone, or "off" (ParseCutoff).
	SettleCutoff string `toml:"settle_cutoff"`

	// ReconcileAt is when the daily reconciliation (核销) of the previous
	// business day starts, "HH:MM" in business_zone; "off" disables it.
	ReconcileAt string `toml:"reconcile_at"`
	// BillsDir is where the channels' bills are kept as received, for
	// disputes (files 0600 in folders 0700).
	BillsDir string `toml:"bills_dir"`
}

// SealKeys names where posserver finds the seal key, the key from outside
// pki_dir that its private keys are sealed under (README, "Keys at rest"):
// a file (on another mount) or an environment variable, at most one. With
// neither, $CREDENTIALS_DIRECTORY/multipos-seal-key (a systemd credential)
// or $MULTIPOS_SEAL_KEY is used when present, and otherwise the keys are
// not sealed.
type SealKeys struct {
	SealKeyFile string `toml:"seal_key_file"` // relative to the configuration file
	SealKeyEnv  string `toml:"seal_key_env"`  // the variable's name, e.g. "MULTIPOS_SEAL_KEY"
}

// Bank is the acquirer host the server sends card messages to: ISO 8583
// over TCP with a 2-byte length header (server/connector/bank). Each
// terminal is known to the acquirer by its terminal id, with the master key
// posserver provisioned for it.
type Bank struct {
	Addr    string        `toml:"addr"`    // host:port of the acquirer's front-end
	Timeout time.Duration `toml:"timeout"` // per request, e.g. "30s"; 0 = 30s
	// SettlementFiles is where the acquirer's daily settlement file
	// (对账文件) is found, {date} standing for the day as YYYYMMDD: a path
	// (the folder the acquirer drops files into by SFTP; relative to the
	// configuration file) or an https URL. "" = no fetching: a file is
	// imported by hand.
	SettlementFiles string `toml:"settlement_files"`
}

// Alipay is the Alipay open platform app the server charges through.
// Files are PEM, relative to the configuration file.
type Alipay struct {
	AppID               string `toml:"app_id"`
	PrivateKeyFile      string `toml:"private_key_file"`       // the app's RSA private key
	AlipayPublicKeyFile string `toml:"alipay_public_key_file"` // Alipay's public key, which signs its answers
	Gateway             string `toml:"gateway"`                // "" = https://openapi.alipay.com/gateway.do
	NotifyURL           string `toml:"notify_url"`             // notify_listen as Alipay reaches it, ending /notify/alipay
}

// WeChat is the WeChat Pay (API v3) merchant the server charges through, in
// public-key mode. Files are relative to the configuration file.
type WeChat struct {
	MchID          string `toml:"mch_id"`
	AppID          string `toml:"app_id"`
	SerialNo       string `toml:"serial_no"`        // the merchant API certificate's serial number
	PrivateKeyFile string `toml:"private_key_file"` // the merchant API private key (PEM)
	APIv3KeyFile   string `toml:"apiv3_key_file"`   // the 32-character APIv3 key, which encrypts notifications
	PublicKeyID    string `toml:"public_key_id"`    // PUB_KEY_ID_…
	PublicKeyFile  string `toml:"public_key_file"`  // WeChat Pay's public key (PEM), which signs its answers
	Endpoint       string `toml:"endpoint"`         // "" = https://api.mch.weixin.qq.com
	NotifyURL      string `toml:"notify_url"`       // notify_listen as WeChat Pay reaches it, ending /notify/wechat
}

// ChannelRule is one channel's switch and limits. Amounts are yuan text in
// the file ("50000.00") and fen in memory; 0 means no limit.
type ChannelRule struct {
	Enabled *bool     `toml:"enabled"` // nil = enabled
	Single  money.Fen `toml:"single"`  // per payment
	Daily   money.Fen `toml:"daily"`   // per day: per terminal under limits, per merchant under merchant_limits
}
