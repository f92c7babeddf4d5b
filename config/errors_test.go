package config

import (
	"strings"
	"testing"
)

// Every class of problem, with the exact file:line (and column for syntax)
// an operator is sent to.
var terminalErrors = []struct{ name, text, want string }{
	{"syntax", "lang = \"zh\nserver = 1\n", `pos.toml:1:11: syntax error: strings cannot contain newlines`},
	{"syntax later", "lang = \"zh\"\n\n[keys\n", `pos.toml:3:6: syntax error: expected '.' or ']' to end table name, but got '\n' instead`},
	{"unknown key", "lang = \"zh\"\n[keys]\nconfrim = [\"enter\"]\n", `pos.toml:3: unknown key "confrim" in [keys]; did you mean "confirm"?`},
	{"unknown top key", "\n\ntermnal_id = \"T1\"\n", `pos.toml:3: unknown key "termnal_id"; did you mean "terminal_id"?`},
	{"unknown table", "[foo]\nbar = 1\n[foo.baz]\nx = 1\n", `pos.toml:1: unknown table [foo]`},
	{"unknown array table", "[[keys]]\n[[extra]]\n", "pos.toml:1: keys: expected a table, found an array of tables"},
	{"unknown inline", "printer = { kind = \"none\", colour = true }\n", `pos.toml:1: unknown key "colour" in [printer]`},
	{"wrong case", "\nLang = \"en\"\n", `pos.toml:2: key "Lang" must be written "lang" (keys are case-sensitive)`},
	{"type int", "[printer]\nwidth = \"32\"\n", `pos.toml:2: printer.width: expected a whole number, found text`},
	{"type array", "[keys]\n\nconfirm = \"enter\"\n", `pos.toml:3: keys.confirm: expected an array such as ["enter"], found text`},
	{"type element", "[keys]\nconfirm = [\"enter\", 5]\n", `pos.toml:2: keys.confirm: expected text in quotes, found a whole number`},
	{"type table", "printer = \"x\"\n", `pos.toml:1: printer: expected a table, found text`},
	{"lang", "terminal_id = \"T1\"\nlang = \"fr\"\n", `pos.toml:2: lang: unknown language "fr" (use zh or en)`},
	{"terminal id long", "terminal_id = \"T00000001\"\n", `pos.toml:1: terminal_id: "T00000001" is too long (9 characters, at most 8)`},
	{"terminal id chars", "terminal_id = \"T-1\"\n", `pos.toml:1: terminal_id: "T-1" may hold only letters and digits`},
	{"terminal id empty", "terminal_id = \"\"\n", `pos.toml:1: terminal_id: must be set (letters and digits, up to 8)`},
	{"server scheme", "server = \"ftp://host\"\n", `pos.toml:1: server: "ftp://host" must start with http:// or https://`},
	{"server host", "server = \"http://\"\n", `pos.toml:1: server: "http://" names no host`},
	{"server plain", "server = \"127.0.0.1:8080\"\n", `pos.toml:1: server: "127.0.0.1:8080" must start with http:// or https://`},
	{"pin key length", "pin_key = \"0123\"\n", `pos.toml:1: pin_key: must be 32 or 48 hex digits (a double- or triple-length TDES key), found 4 characters`},
	{"pin key hex", "pin_key = \"0123456789ABCDEFFEDCBA987654321G\"\n", `pos.toml:1: pin_key: must hold only hex digits 0-9 and A-F`},
	{"printer kind", "[printer]\nkind = \"usb\"\n", `pos.toml:2: printer.kind: "usb" is not a printer kind (use "none" or "file")`},
	{"printer path", "[printer]\nkind = \"file\"\n", `pos.toml:1: printer.path: required when kind is "file" (a file or a device such as /dev/usb/lp0)`},
	{"printer width", "[printer]\nkind = \"none\"\nwidth = 40\n", `pos.toml:3: printer.width: 40 is not a paper width (use 32 for 58 mm paper or 48 for 80 mm)`},
	{"inline table line", "\nprinter = { kind = \"lpt\" }\n", `pos.toml:2: printer.kind: "lpt" is not a printer kind (use "none" or "file")`},
	{"key name", "[keys]\ncancel = [\"escape\"]\n", `pos.toml:2: keys.cancel: unknown key name "escape": the terminal reports that key as "esc"`},
	{"key typo", "[keys]\nquit = [\"ctrl+qq\"]\n", `pos.toml:2: keys.quit: unknown key name "ctrl+qq"; did you mean "ctrl+q"?`},
	{"key typo hint", "[keys]\nconfirm = [\"retrun\"]\n", `pos.toml:2: keys.confirm: unknown key name "retrun"; did you mean "enter"?`},
	{"key nonsense", "[keys]\nconfirm = [\"hyper+enter\"]\n", `pos.toml:2: keys.confirm: unknown key name "hyper+enter" (use names such as "enter", "esc", "f1", "ctrl+q", or one character such as "*")`},
	{"key control char", "[keys]\nconfirm = [\"\\u0007\"]\n", `pos.toml:2: keys.confirm: "\a" is not a key name or a printable character`},
	{"key digit", "[keys]\nsymbol = [\"*\", \"0\"]\n", `pos.toml:2: keys.symbol: "0" cannot be bound: digits 0-9 always type digits`},
	{"key element line", "[keys]\nconfirm = [\n  \"enter\",\n  \"ctrl+m\",\n]\n", `pos.toml:4: keys.confirm: unknown key name "ctrl+m": the terminal reports that key as "enter"`},
	{"key conflict", "[keys]\nconfirm = [\"enter\"]\ncancel = [\"esc\", \"enter\"]\n", `pos.toml:3: keys.cancel: "enter" is already bound to confirm`},
	{"key conflict trainer", "[keys]\ninsert_card = [\"F1\"]\n", `pos.toml:2: keys.insert_card: "f1" is already bound to function by default; set function to another key`},
	{"key conflict default", "[keys]\nconfirm = [\"f5\"]\n", `pos.toml:2: keys.confirm: "f5" is also the default key of customer_pays; set customer_pays to another key`},
	{"key twice", "[keys]\nsymbol = [\"*\", \"*\"]\n", `pos.toml:2: keys.symbol: "*" is listed twice`},
	{"key space twice", "[keys]\nsymbol = [\"space\", \" \"]\n", `pos.toml:2: keys.symbol: " " (space) is listed twice`},
	{"key none", "[keys]\nquit = []\n", `pos.toml:2: keys.quit: no key bound; every action needs at least one key`},
	{"several, in file order", "[printer]\nwidth = 40\n[keys]\nquit = []\n\n[extra]\n",
		"pos.toml:2: printer.width: 40 is not a paper width (use 32 for 58 mm paper or 48 for 80 mm)\n" +
			"pos.toml:4: keys.quit: no key bound; every action needs at least one key\n" +
			"pos.toml:6: unknown table [extra]"},
}

func TestTerminalErrors(t *testing.T) {
	for _, c := range terminalErrors {
		t.Run(c.name, func(t *testing.T) {
			_, msg := load(t, "pos.toml", c.text)
			if msg != c.want {
				t.Errorf("got  %s\nwant %s", msg, c.want)
			}
		})
	}
}

var serverErrors = []struct{ name, text, want string }{
	{"syntax", "listen = \n", `posserver.toml:1:10: syntax error: expected value but found '\n' instead`},
	{"amount", "[limits.alipay]\nsingle = \"20000.00\"\ndaily = \"12.345\"\n", `posserver.toml:3: limits.alipay.daily: parse amount "12.345": not an amount in yuan (expected e.g. 12.34)`},
	{"amount float", "[limits.card]\nsingle = 12.5\n", `posserver.toml:2: limits.card.single: write amounts as text in quotes, e.g. "20000.00" (a TOML float cannot hold money exactly)`},
	{"amount negative", "[limits.card]\n\nsingle = \"-1\"\n", `posserver.toml:3: limits.card.single: parse amount "-1": not an amount in yuan (expected e.g. 12.34)`},
	{"amount limits", "limits = { wechat = { daily = \"abc\" } }\n", `posserver.toml:1: limits.wechat.daily: parse amount "abc": not an amount in yuan (expected e.g. 12.34)`},
	{"channel", "[limits.alipay]\nsingle = \"1\"\n[limits.paypal]\nsingle = \"1\"\n", `posserver.toml:3: limits: unknown channel "paypal" (use alipay, wechat, card)`},
	{"single above daily", "[limits.wechat]\ndaily = \"100.00\"\n", `posserver.toml:1: limits.wechat.single: 10,000.00 is above the daily limit 100.00`},
	{"limit key", "[limits.alipay]\nsingle = \"1\"\nsingel = \"2\"\n", `posserver.toml:3: unknown key "singel" in [limits.alipay]; did you mean "single"?`},
	{"qr_ttl short", "qr_ttl = \"10s\"\n", `posserver.toml:1: qr_ttl: 10s is out of range (30s to 10m)`},
	{"qr_ttl long", "\nqr_ttl = \"1h\"\n", `posserver.toml:2: qr_ttl: 1h0m0s is out of range (30s to 10m)`},
	{"qr_ttl integer", "qr_ttl = 120\n", `posserver.toml:1: qr_ttl: 120ns is out of range (30s to 10m); write it as text with a unit, e.g. "2m"`},
	{"qr_ttl text", "qr_ttl = \"2 minutes\"\n", `posserver.toml:1: qr_ttl: invalid duration: "2 minutes"`},
	{"listen", "listen = \"8080\"\n", `posserver.toml:1: listen: "8080" is not host:port (e.g. "127.0.0.1:8080" or ":8080")`},
	{"listen port", "listen = \":http8\"\n", `posserver.toml:1: listen: ":http8": port "http8" is not a number from 0 to 65535`},
	{"db", "db = \" \"\n", `posserver.toml:1: db: the database file must be named`},
	{"merchant id", "[merchant]\nname = \"x\"\nid = \"12345\"\n", `posserver.toml:3: merchant.id: "12345" has 5 characters; a merchant id has 15`},
	{"merchant id chars", "[merchant]\nid = \"89831004816000_\"\n", `posserver.toml:2: merchant.id: "89831004816000_" may hold only letters and digits`},
	{"merchant name", "merchant = { name = \"\" }\n", `posserver.toml:1: merchant.name: the name printed on receipts must be set`},
	{"no terminals", "terminals = []\n", `posserver.toml:1: terminals: at least one terminal is needed`},
	{"duplicate terminal", "[[terminals]]\nid = \"T1\"\npin_key = \"" + DemoPINKey + "\"\n\n[[terminals]]\nid = \"T1\"\npin_key = \"" + DemoPINKey + "\"\n", `posserver.toml:6: terminals[1].id: "T1" is already the id of terminals[0]`},
	{"terminal pin key", "[[terminals]]\nid = \"T1\"\npin_key = \"" + DemoPINKey + "\"\n[[terminals]]\nid = \"T2\"\npin_key = \"XYZ\"\n", `posserver.toml:6: terminals[1].pin_key: must be 32 or 48 hex digits (a double- or triple-length TDES key), found 3 characters`},
	{"inline terminals", "terminals = [\n  { id = \"T1\", pin_key = \"" + DemoPINKey + "\" },\n  { id = \"T2!\", pin_key = \"" + DemoPINKey + "\" },\n]\n", `posserver.toml:3: terminals[1].id: "T2!" may hold only letters and digits`},
	{"terminal unknown key", "[[terminals]]\nid = \"T1\"\npin_key = \"" + DemoPINKey + "\"\n[[terminals]]\nid = \"T2\"\npin_key = \"" + DemoPINKey + "\"\npinkey = \"x\"\n", `posserver.toml:7: unknown key "pinkey" in [[terminals]]; did you mean "pin_key"?`},
	{"terminal type", "[[terminals]]\nid = 7\n", `posserver.toml:2: terminals.id: expected text in quotes, found a whole number`},
}

func TestServerErrors(t *testing.T) {
	for _, c := range serverErrors {
		t.Run(c.name, func(t *testing.T) {
			_, msg := load(t, "posserver.toml", c.text)
			if msg != c.want {
				t.Errorf("got  %s\nwant %s", msg, c.want)
			}
		})
	}
}

func TestManyProblemsCapped(t *testing.T) {
	_, msg := load(t, "pos.toml", strings.Repeat("[[extra]]\n", 30))
	lines := strings.Split(msg, "\n")
	if len(lines) != maxProblems+1 || lines[0] != "pos.toml:1: unknown table [[extra]]" ||
		!strings.HasSuffix(lines[maxProblems], ": 10 more problems not shown") {
		t.Errorf("got %d lines: %q … %q", len(lines), lines[0], lines[len(lines)-1])
	}
}

func TestErrorFormat(t *testing.T) {
	for _, c := range []struct {
		e    Error
		want string
	}{
		{Error{File: "/x/pos.toml", Line: 12, Msg: `unknown key "confrim" in [keys]`}, `/x/pos.toml:12: unknown key "confrim" in [keys]`},
		{Error{File: "/x/pos.toml", Line: 3, Col: 7, Msg: "syntax error: x"}, `/x/pos.toml:3:7: syntax error: x`},
		{Error{File: "/x/pos.toml", Msg: "file not found"}, `config /x/pos.toml: file not found`},
	} {
		if got := c.e.Error(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

// Every message names its file; none is a bare decoder message.
func TestNoBareTOMLMessages(t *testing.T) {
	for _, c := range append(terminalErrors, serverErrors...) {
		if strings.Contains(c.want, "toml:") && !strings.Contains(c.want, ".toml:") {
			t.Errorf("%s: %s", c.name, c.want)
		}
	}
}
