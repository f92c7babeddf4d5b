package config

import (
	"time"

	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/money"
)

// DemoPINKey is the PIN key shared by the default terminal and the default
// server so that the demo works with no configuration. It is published here,
// so it protects nothing: real deployments set their own keys.
const DemoPINKey = "0123456789ABCDEFFEDCBA9876543210"

// DefaultTerminal returns the configuration used when pos has no file, and
// the base every pos.toml is laid over.
func DefaultTerminal() Terminal {
	return Terminal{
		TerminalID: "T0000001",
		Lang:       i18n.ZH,
		Server:     "http://127.0.0.1:8080",
		PINKey:     DemoPINKey,
		Printer:    Printer{Kind: "none", Width: 32},
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
		},
	}
}

// DefaultServer returns the configuration used when posserver has no file,
// and the base every posserver.toml is laid over. Its merchant and terminal
// are the demo ones and match DefaultTerminal.
func DefaultServer() Server {
	return Server{
		Listen:    "127.0.0.1:8080",
		DB:        "posserver.db",
		QRTTL:     2 * time.Minute,
		Merchant:  Merchant{ID: "898310048160001", Name: "多通道示范商户"},
		Terminals: []TerminalEntry{{ID: "T0000001", PINKey: DemoPINKey}},
		Limits: map[string]ChannelRule{
			"alipay": {Single: yuan(20000), Daily: yuan(200000)},
			"wechat": {Single: yuan(10000), Daily: yuan(100000)},
			"card":   {Single: yuan(50000), Daily: yuan(500000)},
		},
	}
}

// channelNames are the keys a [limits] table may hold.
var channelNames = []string{"alipay", "wechat", "card"}

func yuan(y int64) money.Fen { return money.Fen(y * 100) }
