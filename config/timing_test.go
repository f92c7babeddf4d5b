package config

import (
	"testing"
	"time"
)

func TestTimingDefaultsAndOverrides(t *testing.T) {
	d := DefaultServer()
	if d.ChannelTimeout != 20*time.Second || d.SweepInterval != time.Second ||
		d.Confirm["alipay"] != (ConfirmRule{3 * time.Second, 20}) || d.Confirm["wechat"] != (ConfirmRule{5 * time.Second, 6}) {
		t.Fatalf("defaults: %v %v %v", d.ChannelTimeout, d.SweepInterval, d.Confirm)
	}
	v, msg := load(t, "posserver.toml", `channel_timeout = "2s"
sweep_interval = "250ms"

[confirm.alipay]
every = "300ms"

[confirm.wechat]
every = "400ms"
tries = 4
`)
	if msg != "" {
		t.Fatal(msg)
	}
	s := v.(Server)
	if s.ChannelTimeout != 2*time.Second || s.SweepInterval != 250*time.Millisecond {
		t.Fatalf("timing: %v %v", s.ChannelTimeout, s.SweepInterval)
	}
	// A table overrides only the keys it sets.
	if s.Confirm["alipay"] != (ConfirmRule{300 * time.Millisecond, 20}) || s.Confirm["wechat"] != (ConfirmRule{400 * time.Millisecond, 4}) {
		t.Fatalf("confirm: %v", s.Confirm)
	}
	if DefaultServer().Confirm["alipay"].Every != 3*time.Second {
		t.Fatal("a file changed the defaults")
	}
}

func TestTimingErrors(t *testing.T) {
	for _, c := range []struct{ name, text, want string }{
		{"timeout short", "channel_timeout = \"500ms\"\n", `posserver.toml:1: channel_timeout: 500ms is out of range (1s to 25s)`},
		{"timeout long", "\nchannel_timeout = \"30s\"\n", `posserver.toml:2: channel_timeout: 30s is out of range (1s to 25s)`},
		{"timeout integer", "channel_timeout = 20\n", `posserver.toml:1: channel_timeout: 20ns is out of range (1s to 25s); write it as text with a unit, e.g. "2m"`},
		{"sweep short", "sweep_interval = \"10ms\"\n", `posserver.toml:1: sweep_interval: 10ms is out of range (50ms to 1m)`},
		{"sweep text", "sweep_interval = \"often\"\n", `posserver.toml:1: sweep_interval: invalid duration: "often"`},
		{"confirm wallet", "[confirm.card]\nevery = \"1s\"\ntries = 2\n", `posserver.toml:1: confirm: unknown wallet "card" (use alipay, wechat)`},
		{"confirm every", "[confirm.alipay]\nevery = \"10ms\"\n", `posserver.toml:2: confirm.alipay.every: 10ms is out of range (100ms to 1m)`},
		{"confirm every integer", "[confirm.wechat]\n\nevery = 3\n", `posserver.toml:3: confirm.wechat.every: 3ns is out of range (100ms to 1m); write it as text with a unit, e.g. "3s"`},
		{"confirm tries", "[confirm.wechat]\ntries = 0\n", `posserver.toml:2: confirm.wechat.tries: 0 is out of range (1 to 100)`},
		{"confirm tries text", "[confirm.wechat]\ntries = \"6\"\n", `posserver.toml:2: confirm.wechat.tries: expected a whole number, found text`},
		{"confirm key", "[confirm.alipay]\nevry = \"1s\"\n", `posserver.toml:2: unknown key "evry" in [confirm.alipay]; did you mean "every"?`},
		{"confirm type", "confirm = 3\n", `posserver.toml:1: confirm: expected a table, found a whole number`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, msg := load(t, "posserver.toml", c.text)
			if msg != c.want {
				t.Errorf("got  %s\nwant %s", msg, c.want)
			}
		})
	}
}
