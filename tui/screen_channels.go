package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/money"
)

// channelList is the first screen: the numbered payment channels and their limits.
type channelList struct {
	base
	hint text
}

func newChannelList(b base) *channelList { return &channelList{base: b} }

func (s *channelList) Name() string { return "channels" }

func (s *channelList) Help() []key.Binding {
	return []key.Binding{digitsHelp(s.c, fmt.Sprintf("1-%d", len(api.Channels)), s.c.t("help.select"))}
}

func (s *channelList) MinSize() (int, int) { return 76, 17 }

func (s *channelList) Update(msg tea.Msg) (next, tea.Cmd) {
	if r, ok := msg.(resumeMsg); ok {
		s.hint = r.hint
	}
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return nil, nil
	}
	s.hint = text{}
	c := s.c
	if d := digitOf(k); d >= 0 {
		if d < 1 || d > len(api.Channels) {
			s.hint = say("channels.nosuch", string(k.Runes), len(api.Channels))
			return nil, nil
		}
		ch := api.Channels[d-1]
		if info, known := s.st.channelInfo(ch); known && !info.Enabled {
			_, hint := offTexts(info)
			s.hint = say(hint, channelName(ch))
			return nil, nil
		}
		return toWelcome{ch}, nil
	}
	if key.Matches(k, c.Keys.Confirm) || isText(k) {
		s.hint = say("channels.pick")
	}
	return nil, nil
}

func (s *channelList) View() string {
	c := s.c
	st := c.Styles
	var b strings.Builder
	b.WriteString("\n  " + st.Title.Render(c.t("channels.title")) + "\n\n")
	for i, ch := range api.Channels {
		info, known := s.st.channelInfo(ch)
		num := st.ItemNum.Render(fmt.Sprintf("%d", i+1))
		name := padRight(channelName(ch), 22)
		limit := limitText(c, info, known)
		line := "  " + num + "  " + st.Item.Render(name) + st.Subtle.Render(limit)
		if known && !info.Enabled {
			label, _ := offTexts(info)
			line = "  " + num + "  " + st.Disabled.Render(name+c.t(label))
		}
		b.WriteString(line + "\n\n")
	}
	if _, ok, err := s.st.terminal(); !ok {
		switch {
		case err == nil:
			b.WriteString("  " + st.Subtle.Render(c.t("channels.loading")) + "\n")
		case isOffline(err):
			b.WriteString("  " + st.Warn.Render(c.t("channels.noinfo")) + "\n")
		default:
			b.WriteString(para(c, st.Bad, errText(s.base, err)) + "\n")
		}
	}
	if unseen := s.st.unseen(); len(unseen) > 0 {
		b.WriteString("  " + st.Warn.Render(c.t("channels.unseen")) + "\n")
		for i, o := range unseen {
			if i == 3 {
				break
			}
			line := fmt.Sprintf("%s  %s  %s  %s %s", o.CreatedAt.In(s.now().Location()).Format("01-02 15:04"),
				channelName(o.Channel), money.Fen(o.Amount).Yuan(), c.t("result.trace"), o.Trace)
			b.WriteString("    " + st.Subtle.Render(line+"  ") + st.Warn.Render(c.t(unseenState(o))) + "\n")
		}
	}
	if !s.hint.empty() {
		b.WriteString(para(c, st.Hint, s.hint.in(c)) + "\n")
	}
	return b.String()
}

// unseenState is the text key of a result the cashier never saw: a
// payment given back says so, not just "closed".
func unseenState(o api.Order) string {
	if o.State == api.StateClosed && (o.Reason == api.ReasonRefunded || o.Reason == api.ReasonAmountMismatch || o.Reason == api.ReasonDoublePayment) {
		return "state.refunded"
	}
	return "state." + string(o.State)
}

// offTexts are the text keys of a channel that is off, for the list and
// for the hint when it is picked: a limit rule switched it off for this
// terminal, or the server has no connection for it at all.
func offTexts(info api.ChannelInfo) (label, hint string) {
	if info.DisabledReason == api.DisabledNotConfigured {
		return "channels.notsetup", "channels.isnotsetup"
	}
	return "channels.off", "channels.isoff"
}

// limitText is the limit column: per-payment limit and, with a daily limit,
// what is left today.
func limitText(c *Common, info api.ChannelInfo, known bool) string {
	if !known {
		return c.tf("channels.limit", "—")
	}
	t := c.t("channels.nolim")
	if info.SingleLimit > 0 {
		t = c.tf("channels.limit", money.Fen(info.SingleLimit).Yuan())
	}
	// What is left today is the smaller of the terminal's and the
	// merchant's (all its terminals together) room.
	left, limited := int64(0), false
	if info.DailyLimit > 0 {
		left, limited = info.DailyLimit-info.DailyUsed, true
	}
	if info.MerchantDailyLimit > 0 {
		m := info.MerchantDailyLimit - info.MerchantDailyUsed
		if !limited || m < left {
			left = m
		}
		limited = true
	}
	if limited {
		t += "  " + c.tf("channels.left", money.Fen(max(left, 0)).Yuan())
	}
	return t
}
