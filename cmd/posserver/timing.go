package main

import (
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/server"
)

// withTiming sets the server's timing from the configuration: the channel
// timeout, the sweep interval, the payment-code follow-up per wallet and
// the card batches' cut-off.
func withTiming(cfg config.Server, o server.Options) server.Options {
	o.ChannelTimeout, o.SweepInterval, o.Confirm = cfg.ChannelTimeout, cfg.SweepInterval, confirmPolicies(cfg.Confirm)
	o.SettleCutoff = cfg.SettleCutoff
	return o
}

// confirmPolicies turns the configuration's [confirm] tables into the
// server's follow-up policies for payment codes, per wallet.
func confirmPolicies(rules map[string]config.ConfirmRule) map[api.Channel]server.ConfirmPolicy {
	out := make(map[api.Channel]server.ConfirmPolicy, len(rules))
	for w, r := range rules {
		out[api.Channel(w)] = server.ConfirmPolicy{Every: r.Every, Tries: r.Tries}
	}
	return out
}
