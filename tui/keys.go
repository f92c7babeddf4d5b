package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/i18n"
)

// KeyMap is the station's one key map. The help line of every screen is built
// from these bindings, so what the cashier reads is what the keys do.
type KeyMap struct {
	Digits   key.Binding
	Confirm  key.Binding
	Cancel   key.Binding
	Delete   key.Binding
	Function key.Binding
	Symbol   key.Binding
	Quit     key.Binding
	Up       key.Binding
	Down     key.Binding
	// Trainer keys, enabled in demo mode only.
	CustomerPays     key.Binding
	CustomerDeclines key.Binding
	InsertCard       key.Binding
	PaperOut         key.Binding
	EndDay           key.Binding // on the channel list only
}

// NewKeyMap builds the key map from the configured key names, with help in lang.
func NewKeyMap(k config.Keys, lang i18n.Lang, demo bool) KeyMap {
	b := func(keys []string, help string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(keyLabel(keys), T(lang, help)))
	}
	m := KeyMap{
		Digits:           key.NewBinding(key.WithKeys("0", "1", "2", "3", "4", "5", "6", "7", "8", "9"), key.WithHelp("0-9", T(lang, "help.digits"))),
		Confirm:          b(k.Confirm, "help.confirm"),
		Cancel:           b(k.Cancel, "help.cancel"),
		Delete:           b(k.Delete, "help.delete"),
		Function:         b(k.Function, "help.lang"),
		Symbol:           b(k.Symbol, "help.symbol"),
		Quit:             b(k.Quit, "help.quit"),
		Up:               key.NewBinding(key.WithKeys("up"), key.WithHelp("↑↓", T(lang, "help.move"))),
		Down:             key.NewBinding(key.WithKeys("down"), key.WithHelp("↑↓", T(lang, "help.move"))),
		CustomerPays:     b(k.CustomerPays, "trainer.pays"),
		CustomerDeclines: b(k.CustomerDeclines, "trainer.decl"),
		InsertCard:       b(k.InsertCard, "trainer.card"),
		PaperOut:         b(k.PaperOut, "trainer.paper"),
		EndDay:           b(k.EndDay, "trainer.endday"),
	}
	if !demo {
		m.CustomerPays.SetEnabled(false)
		m.CustomerDeclines.SetEnabled(false)
		m.InsertCard.SetEnabled(false)
		m.PaperOut.SetEnabled(false)
		m.EndDay.SetEnabled(false)
	}
	return m
}

// as returns a copy of b whose help text says what it does on this screen.
func as(b key.Binding, desc string) key.Binding {
	b.SetHelp(b.Help().Key, desc)
	return b
}

// keyLabel prints key names the way they are written on a keyboard.
func keyLabel(keys []string) string {
	if len(keys) == 0 {
		return ""
	}
	k := keys[0]
	switch k {
	case "enter":
		return "Enter"
	case "esc":
		return "Esc"
	case "backspace":
		return "Backspace"
	case "delete":
		return "Del"
	case " ":
		return "Space"
	}
	parts := strings.Split(k, "+")
	for i, p := range parts {
		switch {
		case len(parts) > 1 && i == len(parts)-1 && len(p) == 1:
			parts[i] = strings.ToUpper(p) // ctrl+c → Ctrl+C
		case len(p) > 1:
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	s := strings.Join(parts, "+")
	if len(s) == 2 || len(s) == 3 {
		if s[0] == 'f' || s[0] == 'F' {
			s = strings.ToUpper(s)
		}
	}
	return s
}
