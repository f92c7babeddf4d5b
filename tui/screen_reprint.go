package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/multipos/multipos/receipts"
)

// reprintScreen finds a receipt to print again (重打印): Confirm alone
// takes the last one, or the cashier types its trace number (凭证号) first.
// Receipts come from the print queue's history on this station, so a
// reprint needs neither the server nor the network.
type reprintScreen struct {
	base
	trace   string
	looking bool
	hint    text
}

func newReprintPrompt(b base) *reprintScreen { return &reprintScreen{base: b} }

func (s *reprintScreen) MinSize() (int, int) { return 76, 11 }
func (s *reprintScreen) Name() string        { return "reprint" }
func (s *reprintScreen) Title() string       { return s.c.t("menu.reprint") }

func (s *reprintScreen) Help() []key.Binding {
	c := s.c
	return []key.Binding{digitsHelp(c, "0-9", c.t("reprint.trace")), c.Keys.Confirm, c.Keys.Delete, as(c.Keys.Cancel, c.t("help.back"))}
}

// foundMsg answers a reprint look-up.
type foundMsg struct {
	trace string
	r     receipts.Receipt
	ok    bool
}

func findReceipt(o Options, trace string) tea.Cmd {
	return func() tea.Msg {
		sp := o.Prints.Spool()
		if trace == "" {
			r, ok := sp.LastOriginal()
			return foundMsg{trace: trace, r: r, ok: ok}
		}
		r, ok := sp.ByTrace(trace)
		return foundMsg{trace: trace, r: r, ok: ok}
	}
}

func (s *reprintScreen) Update(msg tea.Msg) (next, tea.Cmd) {
	switch msg := msg.(type) {
	case foundMsg:
		if !s.looking || msg.trace != s.trace {
			return nil, nil
		}
		s.looking = false
		if !msg.ok {
			if msg.trace == "" {
				s.hint = say("reprint.none")
			} else {
				s.hint = say("reprint.notfound", msg.trace)
			}
			return nil, nil
		}
		return toReprint{msg.r}, nil
	case tea.KeyMsg:
		s.hint = text{}
		if !s.looking {
			return s.key(msg)
		}
	}
	return nil, nil
}

func (s *reprintScreen) key(k tea.KeyMsg) (next, tea.Cmd) {
	c := s.c
	switch {
	case key.Matches(k, c.Keys.Cancel):
		return goBack{}, nil
	case key.Matches(k, c.Keys.Delete):
		if s.trace != "" {
			s.trace = s.trace[:len(s.trace)-1]
		}
	case key.Matches(k, c.Keys.Confirm):
		if s.o.Prints == nil {
			s.hint = say("receipt.noprinter")
			return nil, nil
		}
		if s.trace != "" && len(s.trace) < 6 {
			s.trace = strings.Repeat("0", 6-len(s.trace)) + s.trace // 123 is 000123
		}
		s.looking = true
		return nil, findReceipt(*s.o, s.trace)
	default:
		if d := digitOf(k); d >= 0 {
			if len(s.trace) < 6 {
				s.trace += string(rune('0' + d))
			} else {
				s.hint = say("reprint.long")
			}
		}
	}
	return nil, nil
}

func (s *reprintScreen) View() string {
	c := s.c
	st := c.Styles
	var b strings.Builder
	b.WriteString("\n  " + st.Title.Render(c.t("menu.reprint")) + "\n\n")
	b.WriteString("  " + c.tf("reprint.how", c.Keys.Confirm.Help().Key) + "\n\n")
	field := s.trace
	if field == "" {
		field = st.Subtle.Render(c.t("reprint.last"))
	}
	b.WriteString("  " + labelCol(c.t("reprint.trace"), 10) + st.Amount.Render(field) + "\n")
	b.WriteString(hintLine(c, st.Hint, s.hint))
	return b.String()
}
