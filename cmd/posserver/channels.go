package main

import (
	"context"
	"log/slog"
	"strings"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/server"
	"github.com/multipos/multipos/server/connector"
)

// channelSet is what the server charges through: the connectors of the
// channels the configuration sets up and, in demo mode only, the stand-ins
// for the others.
type channelSet struct {
	acquirer  connector.Acquirer // nil: card payments are off
	wallets   *walletSet
	closeBank func()
}

// openChannels connects every channel that has its section. Without one a
// channel runs on an in-process stand-in in demo mode (cfg.Demo), and is
// off otherwise: the server shows it to terminals as not set up and
// refuses its requests. It says at start which channel is on what.
func openChannels(ctx context.Context, cfg config.Server, keys *server.Keyring, log *slog.Logger) (*channelSet, error) {
	link, closeBank, err := openBank(ctx, cfg, keys, log)
	if err != nil {
		return nil, err
	}
	wallets, err := openWallets(ctx, cfg, log)
	if err != nil {
		closeBank()
		return nil, err
	}
	cs := &channelSet{wallets: wallets, closeBank: closeBank}
	if link != nil {
		// Only a real link: a nil *bank.Client would make a non-nil
		// interface, and the server would take card payments it cannot send.
		cs.acquirer = link
	}
	if len(wallets.real) > 0 {
		log.Info("wallet connectors", "real", wallets.real)
	}
	reportChannels(cfg, log)
	return cs, nil
}

// customer is who plays the wallets' customer for the trainer: the
// sandboxes, when they run (demo mode).
func (cs *channelSet) customer() server.Customer {
	if cs.wallets.sandbox == nil {
		return nil
	}
	return cs.wallets.sandbox
}

func (cs *channelSet) close() {
	cs.wallets.close()
	cs.closeBank()
}

// sectionOf names the configuration section that sets up a channel.
var sectionOf = map[api.Channel]string{api.Alipay: "alipay", api.WeChat: "wechat", api.Card: "bank"}

// reportChannels logs, once at start, one line per channel that is off or
// on a stand-in, then which channels are on and which off.
func reportChannels(cfg config.Server, log *slog.Logger) {
	has := map[api.Channel]bool{api.Alipay: cfg.Alipay != nil, api.WeChat: cfg.WeChat != nil, api.Card: cfg.Bank != nil}
	on, off, standIns := []string{}, []string{}, []string{} // [] in the JSON log, not null
	for _, ch := range api.Channels {
		name := string(ch)
		switch {
		case has[ch]:
			on = append(on, name)
		case cfg.Demo:
			on = append(on, name+" (stand-in)")
			standIns = append(standIns, name)
		default:
			off = append(off, name)
			log.Warn(name+" is off: the configuration has no ["+sectionOf[ch]+"] section, "+
				"so stations show it as not set up and its payments are refused", "channel", name)
		}
	}
	if cfg.Demo {
		log.Warn("demo mode: no real money moves on a stand-in, the trainer endpoints are on and stations show 演示 DEMO; "+
			"on in-process stand-ins: "+listOrNone(standIns), "stand_ins", standIns)
	} else if len(on) == 0 {
		log.Warn("no payment channel is set up: add [alipay], [wechat] or [bank] to the configuration, " +
			"or train with posserver serve --demo")
	}
	log.Info("channels on: "+listOrNone(on)+"; off: "+listOrNone(off), "on", on, "off", off)
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
