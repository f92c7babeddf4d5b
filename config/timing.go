package config

import (
	"maps"
	"slices"
	"time"

	"github.com/BurntSushi/toml"
)

// ConfirmRule is how posserver follows a payment code the customer must
// confirm on the phone: it asks the wallet every Every, Tries times, then
// reverses the payment.
type ConfirmRule struct {
	Every time.Duration `toml:"every"`
	Tries int           `toml:"tries"`
}

// walletNames are the keys a [confirm] table may hold.
var walletNames = []string{"alipay", "wechat"}

// DefaultConfirm is what the wallets prescribe: Alipay about every 3 s for
// up to 60 s, WeChat Pay every 5 s for up to 30 s.
func DefaultConfirm() map[string]ConfirmRule {
	return map[string]ConfirmRule{
		"alipay": {Every: 3 * time.Second, Tries: 20},
		"wechat": {Every: 5 * time.Second, Tries: 6},
	}
}

// Bounds of the timing keys. A channel call must end well within the 30 s
// a terminal waits for an answer (posclient.Client), so that the terminal
// hears the outcome, even an unknown one, rather than giving up first.
const (
	minChannelTimeout = time.Second
	maxChannelTimeout = 25 * time.Second
	minSweepInterval  = 50 * time.Millisecond
	maxSweepInterval  = time.Minute
	minConfirmEvery   = 100 * time.Millisecond
	maxConfirmEvery   = time.Minute
	maxConfirmTries   = 100
)

// decodeConfirm lays each wallet's [confirm.<wallet>] table over its
// default, so that a table setting only "every" keeps the default tries.
func decodeConfirm(md toml.MetaData, raw map[string]toml.Primitive, rules map[string]ConfirmRule) error {
	for _, w := range slices.Sorted(maps.Keys(raw)) {
		r := rules[w]
		if err := md.PrimitiveDecode(raw[w], &r); err != nil {
			return err
		}
		rules[w] = r
	}
	return nil
}

// checkTiming validates channel_timeout, sweep_interval and [confirm].
func checkTiming(p *problems, md toml.MetaData, s *Server) {
	checkDuration(p, md, "channel_timeout", s.ChannelTimeout, minChannelTimeout, maxChannelTimeout, "1s to 25s")
	checkDuration(p, md, "sweep_interval", s.SweepInterval, minSweepInterval, maxSweepInterval, "50ms to 1m")
	for _, w := range slices.Sorted(maps.Keys(s.Confirm)) {
		r := s.Confirm[w]
		if !slices.Contains(walletNames, w) {
			p.at(path("confirm", w), "confirm: unknown wallet %q (use alipay, wechat)", w)
			continue
		}
		if r.Every < minConfirmEvery || r.Every > maxConfirmEvery {
			msg := "confirm." + w + ".every: " + r.Every.String() + " is out of range (100ms to 1m)"
			if md.Type("confirm", w, "every") == "Integer" {
				msg += `; write it as text with a unit, e.g. "3s"`
			}
			p.at(path("confirm", w, "every"), "%s", msg)
		}
		if r.Tries < 1 || r.Tries > maxConfirmTries {
			p.at(path("confirm", w, "tries"), "confirm.%s.tries: %d is out of range (1 to %d)", w, r.Tries, maxConfirmTries)
		}
	}
}
