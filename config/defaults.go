package config

import (
	"time"

	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/money"
)

// DefaultTerminal returns the configuration used when pos has no file, and
// the base every pos.toml is laid over.
func DefaultTerminal() Terminal {
	return Terminal{
		Lang:    i18n.ZH,
		Printer: Printer{Kind: "none", Width: 32},
		Reader:  Reader{Kind: "pcsc"},
		Keys: Keys{
			Confirm:          []string{"enter"},
			Cancel:           []string{"esc"},
			Delete:           []string{"backspace"},
			Function:         []string{"f1"},
			Symbol:           []string{"*"},
			Quit:             []string{"ctrl+c"},
			CustomerPays:     []string{"f5"},
			CustomerDeclines: []string{"f6"},
			InsertCard:       []string{"f7"},
			PaperOut:         []string{"f8"},
			EndDay:           []string{"f9"},
		},
	}
}

// DefaultServer returns the configuration used when posserver has no file,
// and the base every posserver.toml is laid over. Every address is loopback,
// so a server started without a file is reachable from its own machine only.
func DefaultServer() Server {
	return Server{
		Listen:           "127.0.0.1:8443",
		OpsListen:        "127.0.0.1:9464",
		DB:               "posserver.db",
		PKIDir:           "pki",
		Hosts:            []string{"localhost", "127.0.0.1", "::1"},
		QRTTL:            2 * time.Minute,
		RequestRetention: 7 * 24 * time.Hour,
		BusinessZone:     DefaultBusinessZone,
		Limits: map[string]ChannelRule{
			"alipay": {Single: yuan(20000), Daily: yuan(200000)},
			"wechat": {Single: yuan(10000), Daily: yuan(100000)},
			"card":   {Single: yuan(50000), Daily: yuan(500000)},
		},
		MerchantLimits: map[string]ChannelRule{},
		ChannelTimeout: 20 * time.Second,
		SweepInterval:  time.Second,
		Confirm:        DefaultConfirm(),
		SettleCutoff:   DefaultSettleCutoff,
		ReconcileAt:    DefaultReconcileAt,
		BillsDir:       "bills",
	}
}

// DefaultReconcileAt is when the daily reconciliation starts: the wallets
// cut the previous day's bills by about 10:00.
const DefaultReconcileAt = "10:30"

// DefaultBusinessZone is Beijing time, the zone the wallets' bills and a
// UnionPay acquirer's dates are in.
const DefaultBusinessZone = "Asia/Shanghai"

// channelNames are the keys a [limits] or [merchant_limits] table may hold.
var channelNames = []string{"alipay", "wechat", "card"}

func yuan(y int64) money.Fen { return money.Fen(y * 100) }
