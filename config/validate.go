package config

import (
	"encoding/hex"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/multipos/multipos/i18n"
)

func validateTerminal(p *problems, md toml.MetaData, t *Terminal) {
	if err := checkID(t.TerminalID, 8); err != nil {
		p.at(path("terminal_id"), "terminal_id: %v", err)
	}
	if l, err := i18n.Parse(string(t.Lang)); err != nil {
		p.at(path("lang"), "lang: %v", err)
	} else {
		t.Lang = l
	}
	if err := checkServerURL(t.Server); err != nil {
		p.at(path("server"), "server: %v", err)
	}
	if err := checkPINKey(t.PINKey); err != nil {
		p.at(path("pin_key"), "pin_key: %v", err)
	}
	switch t.Printer.Kind {
	case "none":
	case "file":
		if strings.TrimSpace(t.Printer.Path) == "" {
			p.at(path("printer", "path"), `printer.path: required when kind is "file" (a file or a device such as /dev/usb/lp0)`)
		}
	default:
		p.at(path("printer", "kind"), `printer.kind: %q is not a printer kind (use "none" or "file")`, t.Printer.Kind)
	}
	if t.Printer.Width != 32 && t.Printer.Width != 48 {
		p.at(path("printer", "width"), "printer.width: %d is not a paper width (use 32 for 58 mm paper or 48 for 80 mm)", t.Printer.Width)
	}
	validateKeys(p, md, &t.Keys)
}

// validateKeys checks every binding and rewrites it as Bubble Tea spells it,
// so the cashier app can compare it with tea.KeyMsg.String() directly.
func validateKeys(p *problems, md toml.MetaData, k *Keys) {
	actions := []struct {
		name string
		keys *[]string
	}{
		{"confirm", &k.Confirm}, {"cancel", &k.Cancel}, {"delete", &k.Delete},
		{"function", &k.Function}, {"symbol", &k.Symbol}, {"quit", &k.Quit},
		{"customer_pays", &k.CustomerPays}, {"customer_declines", &k.CustomerDeclines},
		{"insert_card", &k.InsertCard},
	}
	type binding struct {
		action string
		index  int
		inFile bool
	}
	bound := map[string]binding{}
	for _, a := range actions {
		inFile := md.IsDefined("keys", a.name)
		if len(*a.keys) == 0 {
			p.at(path("keys", a.name), "keys.%s: no key bound; every action needs at least one key", a.name)
		}
		for i, raw := range *a.keys {
			name, err := normalizeKey(raw)
			if err != nil {
				p.at(path("keys", a.name, i), "keys.%s: %v", a.name, err)
				continue
			}
			(*a.keys)[i] = name
			prev, dup := bound[name]
			switch {
			case !dup:
				bound[name] = binding{a.name, i, inFile}
			case prev.action == a.name:
				p.at(path("keys", a.name, i), "keys.%s: %s is listed twice", a.name, keyDisplay(name))
			case inFile && prev.inFile:
				p.at(path("keys", a.name, i), "keys.%s: %s is already bound to %s", a.name, keyDisplay(name), prev.action)
			case inFile:
				p.at(path("keys", a.name, i), "keys.%s: %s is already bound to %s by default; set %s to another key",
					a.name, keyDisplay(name), prev.action, prev.action)
			default:
				p.at(path("keys", prev.action, prev.index), "keys.%s: %s is also the default key of %s; set %s to another key",
					prev.action, keyDisplay(name), a.name, a.name)
			}
		}
	}
}

func validateServer(p *problems, md toml.MetaData, s *Server) {
	if err := checkListen(s.Listen); err != nil {
		p.at(path("listen"), "listen: %v", err)
	}
	if strings.TrimSpace(s.DB) == "" {
		p.at(path("db"), "db: the database file must be named")
	}
	if s.QRTTL < 30*time.Second || s.QRTTL > 10*time.Minute {
		msg := fmt.Sprintf("qr_ttl: %v is out of range (30s to 10m)", s.QRTTL)
		if md.Type("qr_ttl") == "Integer" {
			msg += `; write it as text with a unit, e.g. "2m"`
		}
		p.at(path("qr_ttl"), "%s", msg)
	}
	if err := checkID(s.Merchant.ID, 15); err != nil {
		p.at(path("merchant", "id"), "merchant.id: %v", err)
	} else if len(s.Merchant.ID) != 15 {
		p.at(path("merchant", "id"), "merchant.id: %q has %d characters; a merchant id has 15", s.Merchant.ID, len(s.Merchant.ID))
	}
	if strings.TrimSpace(s.Merchant.Name) == "" {
		p.at(path("merchant", "name"), "merchant.name: the name printed on receipts must be set")
	}
	if len(s.Terminals) == 0 {
		p.at(path("terminals"), "terminals: at least one terminal is needed")
	}
	seen := map[string]int{}
	for i, t := range s.Terminals {
		if err := checkID(t.ID, 8); err != nil {
			p.at(path("terminals", i, "id"), "terminals[%d].id: %v", i, err)
		} else if j, dup := seen[t.ID]; dup {
			p.at(path("terminals", i, "id"), "terminals[%d].id: %q is already the id of terminals[%d]", i, t.ID, j)
		} else {
			seen[t.ID] = i
		}
		if err := checkPINKey(t.PINKey); err != nil {
			p.at(path("terminals", i, "pin_key"), "terminals[%d].pin_key: %v", i, err)
		}
	}
	for _, ch := range slices.Sorted(maps.Keys(s.Limits)) {
		r := s.Limits[ch]
		if !slices.Contains(channelNames, ch) {
			p.at(path("limits", ch), "limits: unknown channel %q (use %s)", ch, strings.Join(channelNames, ", "))
			continue
		}
		if r.Single < 0 || r.Daily < 0 {
			p.at(path("limits", ch), "limits.%s: limits cannot be negative", ch)
		}
		if r.Single > 0 && r.Daily > 0 && r.Single > r.Daily {
			p.at(path("limits", ch, "single"), "limits.%s.single: %s is above the daily limit %s", ch, r.Single.Grouped(), r.Daily.Grouped())
		}
	}
}

func path(elems ...any) []any { return elems }

// checkID accepts what fits ISO 8583 fields 41 (terminal, 8) and 42
// (merchant, 15): ASCII letters and digits, at most max of them.
func checkID(id string, max int) error {
	if id == "" {
		return fmt.Errorf("must be set (letters and digits, up to %d)", max)
	}
	if len(id) > max {
		return fmt.Errorf("%q is too long (%d characters, at most %d)", id, len(id), max)
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z') {
			return fmt.Errorf("%q may hold only letters and digits", id)
		}
	}
	return nil
}

func checkServerURL(s string) error {
	if !strings.Contains(s, "://") {
		return fmt.Errorf("%q must start with http:// or https://", s)
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL", s)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q must start with http:// or https://", s)
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%q names no host", s)
	}
	return nil
}

// checkPINKey never quotes the key: it is a secret and errors end up in logs.
func checkPINKey(k string) error {
	if k == "" {
		return fmt.Errorf("must be set: 32 or 48 hex digits")
	}
	if len(k) != 32 && len(k) != 48 {
		return fmt.Errorf("must be 32 or 48 hex digits (a double- or triple-length TDES key), found %d characters", len(k))
	}
	if _, err := hex.DecodeString(k); err != nil {
		return fmt.Errorf("must hold only hex digits 0-9 and A-F")
	}
	return nil
}

func checkListen(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port (e.g. \"127.0.0.1:8080\" or \":8080\")", s)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: port %q is not a number from 0 to 65535", s, port)
	}
	return nil
}
