package tui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/i18n"
)

// A channel the server has not set up (outside demo mode, no section for
// it) is listed as not available, with why; picking it says so and what to
// do, and does not open it. The list fits 80×24 with its keys in both
// languages, and a server out of demo mode brings no 演示 DEMO badge.
func TestChannelNotSetUpOnServer(t *testing.T) {
	for _, lang := range []i18n.Lang{i18n.ZH, i18n.EN} {
		c := testCommon(t)
		c.Lang = lang
		c.opts.TerminalID = "T0000001"
		// WeChat Pay stays switched off by a limit rule; the card channel
		// has no connection at the server.
		c.Info.Channels[2] = api.ChannelInfo{Channel: api.Card, DisabledReason: api.DisabledNotConfigured}
		s := newChannelList(c)
		m := newModel(c, s)

		lines := screenLines(t, lang, m.View())
		notSetUp := T(lang, "channels.notsetup")
		if row := lineWith(lines, channelName(api.Card)); !strings.Contains(row, notSetUp) {
			t.Errorf("%s: card row %q lacks %q", lang, row, notSetUp)
		}
		if row := lineWith(lines, channelName(api.WeChat)); !strings.Contains(row, T(lang, "channels.off")) || strings.Contains(row, notSetUp) {
			t.Errorf("%s: a channel switched off by a rule reads %q", lang, row)
		}
		if help := lines[len(lines)-2]; !strings.Contains(help, "1-3") || !strings.Contains(help, T(lang, "help.select")) {
			t.Errorf("%s: help line %q", lang, help)
		}
		for _, l := range lines {
			if strings.Contains(l, T(lang, "demo.badge")) {
				t.Errorf("%s: demo badge outside demo mode: %q", lang, l)
			}
		}

		if next, _ := s.Update(runes("3")); next != Screen(s) {
			t.Fatalf("%s: picking a channel not set up opened %s", lang, next.Name())
		}
		lines = screenLines(t, lang, m.View())
		hint := Tf(lang, "channels.isnotsetup", channelName(api.Card))
		if lineWith(lines, hint) == "" {
			t.Errorf("%s: no whole hint %q on\n%s", lang, hint, strings.Join(lines, "\n"))
		}
		if next, _ := s.Update(runes("1")); next.Name() != "welcome" {
			t.Errorf("%s: a channel that is on opens %s", lang, next.Name())
		}
	}
}

// screenLines checks that a full view is exactly 80×24 and returns its
// lines without styling.
func screenLines(t *testing.T, lang i18n.Lang, view string) []string {
	t.Helper()
	lines := strings.Split(ansi.Strip(view), "\n")
	if len(lines) != 24 {
		t.Errorf("%s: %d lines", lang, len(lines))
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w > 80 {
			t.Errorf("%s: line %d is %d cells: %q", lang, i, w, l)
		}
	}
	return lines
}

func lineWith(lines []string, s string) string {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}
