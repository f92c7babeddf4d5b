package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// Every class of problem, with the exact file:line (and column for syntax)
// an operator is sent to.
var terminalErrors = []struct{ name, text, want string }{
	{"syntax", "lang = \"zh\nserver = 1\n", `pos.toml:1:11: syntax error: strings cannot contain newlines`},
	{"syntax later", "lang = \"zh\"\n\n[keys\n", `pos.toml:3:6: syntax error: expected '.' or ']' to end table name, but got '\n' instead`},
	{"unknown key", "lang = \"zh\"\n[keys]\nconfrim = [\"enter\"]\n", `pos.toml:3: unknown key "confrim" in [keys]; did you mean "confirm"?`},
	{"unknown top key", "\n\nsever = \"https://h\"\n", `pos.toml:3: unknown key "sever"; did you mean "server"?`},
	{"unknown top key near bundle", "bundel = \"T1.pem\"\n", `pos.toml:1: unknown key "bundel"; did you mean "bundle"?`},
	{"unknown table", "[foo]\nbar = 1\n[foo.baz]\nx = 1\n", `pos.toml:1: unknown table [foo]`},
	{"unknown array table", "[[keys]]\n[[extra]]\n", "pos.toml:1: keys: expected a table, found an array of tables"},
	{"unknown inline", "printer = { kind = \"none\", colour = true }\n", `pos.toml:1: unknown key "colour" in [printer]`},
	{"wrong case", "\nLang = \"en\"\n", `pos.toml:2: key "Lang" must be written "lang" (keys are case-sensitive)`},
	{"type int", "[printer]\nwidth = \"32\"\n", `pos.toml:2: printer.width: expected a whole number, found text`},
	{"type array", "[keys]\n\nconfirm = \"enter\"\n", `pos.toml:3: keys.confirm: expected an array such as ["enter"], found text`},
	{"type element", "[keys]\nconfirm = [\"enter\", 5]\n", `pos.toml:2: keys.confirm: expected text in quotes, found a whole number`},
	{"type table", "printer = \"x\"\n", `pos.toml:1: printer: expected a table, found text`},
	{"lang", "bundle = \"T1.pem\"\nlang = \"fr\"\n", `pos.toml:2: lang: unknown language "fr" (use zh or en)`},
	{"bundle type", "\nbundle = 1\n", `pos.toml:2: bundle: expected text in quotes, found a whole number`},
	{"server http", "server = \"http://127.0.0.1:8080\"\n", `pos.toml:1: server: the terminal API is HTTPS with mutual TLS; write https://…`},
	{"server HTTP", "server = \"HTTP://pos.example.com\"\n", `pos.toml:1: server: the terminal API is HTTPS with mutual TLS; write https://…`},
	{"server scheme", "server = \"ftp://host\"\n", `pos.toml:1: server: "ftp://host" must start with https://`},
	{"server host", "server = \"https://\"\n", `pos.toml:1: server: "https://" names no host`},
	{"server port only", "server = \"https://:8443\"\n", `pos.toml:1: server: "https://:8443" names no host`},
	{"server plain", "server = \"127.0.0.1:8443\"\n", `pos.toml:1: server: "127.0.0.1:8443" must start with https://`},
	{"server bad", "server = \"https://pos example\"\n", `pos.toml:1: server: "https://pos example" is not a URL`},
	{"terminal id retired", "bundle = \"T1.pem\"\n\nterminal_id = \"T0000001\"\n", "pos.toml:3: terminal_id: no longer set here: the terminal id comes from the terminal bundle (bundle = \"…\") that `posserver terminal add` issues"},
	{"pin key retired", "lang = \"en\"\npin_key = \"0123\"\n", `pos.toml:2: pin_key: no longer set here: the terminal's key comes from its bundle (bundle = "…")`},
	{"retired miscased", "Terminal_ID = \"T1\"\n", "pos.toml:1: terminal_id: no longer set here: the terminal id comes from the terminal bundle (bundle = \"…\") that `posserver terminal add` issues"},
	{"retired only at top", "[printer]\npin_key = \"x\"\n", `pos.toml:2: unknown key "pin_key" in [printer]`},
	{"retired both", "pin_key = \"0123\"\nlang = \"en\"\nterminal_id = \"T1\"\n",
		`pos.toml:1: pin_key: no longer set here: the terminal's key comes from its bundle (bundle = "…")` + "\n" +
			"pos.toml:3: terminal_id: no longer set here: the terminal id comes from the terminal bundle (bundle = \"…\") that `posserver terminal add` issues"},
	{"printer kind", "[printer]\nkind = \"lpt\"\n", `pos.toml:2: printer.kind: "lpt" is not a printer kind (use one of "none", "usb", "tcp", "file", "text")`},
	{"printer usb id", "[printer]\nkind = \"usb\"\nusb = \"0416-5011\"\n", `pos.toml:3: printer.usb: "0416-5011" is not a USB id (use "VID:PID" in hex, as lsusb shows it, e.g. "0416:5011")`},
	{"printer tcp addr", "[printer]\nkind = \"tcp\"\n", `pos.toml:1: printer.addr: required when kind is "tcp" (the printer's address, e.g. "192.168.1.80:9100")`},
	{"printer profile", "[printer]\nprofile = \"tm88\"\n", `pos.toml:2: printer.profile: "tm88" is neither a built-in profile ("58mm", "80mm", "80mm-nochinese") nor in [printer.profiles]`},
	{"printer profile field", "[printer.profiles.mine]\nwidth = 48\ncut = \"half\"\n", `pos.toml:3: printer.profiles.mine.cut: "half" is not a cut (use "partial", "full" or "none")`},
	{"printer path", "[printer]\nkind = \"file\"\n", `pos.toml:1: printer.path: required when kind is "file" (a file or a device such as /dev/usb/lp0)`},
	{"printer width", "[printer]\nkind = \"none\"\nwidth = 40\n", `pos.toml:3: printer.width: 40 is not a paper width (use 32 for 58 mm paper or 48 for 80 mm)`},
	{"inline table line", "\nprinter = { kind = \"lpt\" }\n", `pos.toml:2: printer.kind: "lpt" is not a printer kind (use one of "none", "usb", "tcp", "file", "text")`},
	{"supervisor password", "supervisor_password = \"12a4\"\n", `pos.toml:1: supervisor_password: must be 4 to 12 digits (the cashier types it on the number keys), or "" to turn voids and refunds off`},
	{"supervisor password short", "supervisor_password = \"123\"\n", `pos.toml:1: supervisor_password: must be 4 to 12 digits (the cashier types it on the number keys), or "" to turn voids and refunds off`},
	{"reader kind", "[reader]\nkind = \"usb\"\n", `pos.toml:2: reader.kind: "usb" is not a reader kind (use "none" or "pcsc")`},
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

const (
	retiredTerminals = "terminals: no longer read from this file: terminals live in the database; register each with `posserver terminal add --merchant M --store S --id T001`"
	retiredMerchant  = "merchant: no longer read from this file: a merchant is created with its first terminal (posserver terminal add --merchant ID --merchant-name NAME)"
	badPostgres      = "not a valid PostgreSQL URL (postgres://user:password@host:5432/multipos); percent-encode @ : / ? # % in the user name and password"
)

var serverErrors = []struct{ name, text, want string }{
	{"syntax", "listen = \n", `posserver.toml:1:10: syntax error: expected value but found '\n' instead`},
	{"amount", "[limits.alipay]\nsingle = \"20000.00\"\ndaily = \"12.345\"\n", `posserver.toml:3: limits.alipay.daily: parse amount "12.345": not an amount in yuan (expected e.g. 12.34)`},
	{"amount float", "[limits.card]\nsingle = 12.5\n", `posserver.toml:2: limits.card.single: write amounts as text in quotes, e.g. "20000.00" (a TOML float cannot hold money exactly)`},
	{"amount negative", "[limits.card]\n\nsingle = \"-1\"\n", `posserver.toml:3: limits.card.single: parse amount "-1": not an amount in yuan (expected e.g. 12.34)`},
	{"amount limits", "limits = { wechat = { daily = \"abc\" } }\n", `posserver.toml:1: limits.wechat.daily: parse amount "abc": not an amount in yuan (expected e.g. 12.34)`},
	{"channel", "[limits.alipay]\nsingle = \"1\"\n[limits.paypal]\nsingle = \"1\"\n", `posserver.toml:3: limits: unknown channel "paypal" (use alipay, wechat, card)`},
	{"single above daily", "[limits.wechat]\ndaily = \"100.00\"\n", `posserver.toml:1: limits.wechat.single: 10,000.00 is above the daily limit 100.00`},
	{"limit key", "[limits.alipay]\nsingle = \"1\"\nsingel = \"2\"\n", `posserver.toml:3: unknown key "singel" in [limits.alipay]; did you mean "single"?`},
	{"merchant amount", "[merchant_limits.card]\ndaily = \"1.001\"\n", `posserver.toml:2: merchant_limits.card.daily: parse amount "1.001": not an amount in yuan (expected e.g. 12.34)`},
	{"merchant amount float", "\n[merchant_limits.alipay]\ndaily = 1e6\n", `posserver.toml:3: merchant_limits.alipay.daily: write amounts as text in quotes, e.g. "20000.00" (a TOML float cannot hold money exactly)`},
	{"merchant channel", "merchant_limits.unionpay.daily = \"1\"\n", `posserver.toml:1: merchant_limits: unknown channel "unionpay" (use alipay, wechat, card)`},
	{"merchant single above daily", "[merchant_limits.card]\ndaily = \"100\"\nsingle = \"100.01\"\n", `posserver.toml:3: merchant_limits.card.single: 100.01 is above the daily limit 100.00`},
	{"merchant limit key", "[merchant_limits.card]\ndayly = \"100\"\n", `posserver.toml:2: unknown key "dayly" in [merchant_limits.card]; did you mean "daily"?`},
	{"merchant limits type", "merchant_limits = \"none\"\n", `posserver.toml:1: merchant_limits: expected a table, found text`},
	{"limits type", "\nlimits = [1]\n", `posserver.toml:2: limits: expected a table, found an array`},
	{"limits array of tables", "[[limits]]\nalipay = 1\n", `posserver.toml:1: limits: expected a table, found an array of tables`},
	{"business_zone unknown", "\nbusiness_zone = \"Asia/Shangai\"\n", `posserver.toml:2: business_zone: "Asia/Shangai" is not a known time zone; use an IANA name such as "Asia/Shanghai" or "UTC"`},
	{"business_zone offset", "business_zone = \"+08:00\"\n", `posserver.toml:1: business_zone: "+08:00" is not a known time zone; use an IANA name such as "Asia/Shanghai" or "UTC"`},
	{"business_zone empty", "business_zone = \"\"\n", `posserver.toml:1: business_zone: must name the chain's time zone, e.g. "Asia/Shanghai"`},
	{"business_zone local", "business_zone = \"Local\"\n", `posserver.toml:1: business_zone: "Local" would follow the server machine's clock; name the chain's zone, e.g. "Asia/Shanghai"`},
	{"business_zone type", "business_zone = 8\n", `posserver.toml:1: business_zone: expected text in quotes, found a whole number`},
	{"settle_cutoff bad", "settle_cutoff = \"11pm\"\n", `posserver.toml:1: settle_cutoff: "11pm" is not a time of day as HH:MM (e.g. "23:00") nor "off"`},
	{"settle_cutoff hour", "settle_cutoff = \"24:00\"\n", `posserver.toml:1: settle_cutoff: "24:00" is not a time of day as HH:MM (e.g. "23:00") nor "off"`},
	{"qr_ttl short", "qr_ttl = \"10s\"\n", `posserver.toml:1: qr_ttl: 10s is out of range (30s to 10m)`},
	{"reconcile_at", "reconcile_at = \"25:00\"\n", `posserver.toml:1: reconcile_at: "25:00": want a time of day, HH:MM (e.g. "10:30"), or "off"`},
	{"bills_dir empty", "bills_dir = \"\"\n", `posserver.toml:1: bills_dir: must name the directory the channels' bills are kept in (created if missing)`},
	{"qr_ttl long", "\nqr_ttl = \"1h\"\n", `posserver.toml:2: qr_ttl: 1h0m0s is out of range (30s to 10m)`},
	{"qr_ttl integer", "qr_ttl = 120\n", `posserver.toml:1: qr_ttl: 120ns is out of range (30s to 10m); write it as text with a unit, e.g. "2m"`},
	{"qr_ttl text", "qr_ttl = \"2 minutes\"\n", `posserver.toml:1: qr_ttl: invalid duration: "2 minutes"`},
	{"retention short", "request_retention = \"59m\"\n", `posserver.toml:1: request_retention: 59m0s is out of range (1h to 8760h)`},
	{"retention long", "request_retention = \"8761h\"\n", `posserver.toml:1: request_retention: 8761h0m0s is out of range (1h to 8760h)`},
	{"retention integer", "\nrequest_retention = 168\n", `posserver.toml:2: request_retention: 168ns is out of range (1h to 8760h); write it as text with a unit, e.g. "2m"`},
	{"listen", "listen = \"8443\"\n", `posserver.toml:1: listen: "8443" is not host:port (e.g. "127.0.0.1:8443" or ":8443")`},
	{"listen port", "listen = \":http8\"\n", `posserver.toml:1: listen: ":http8": port "http8" is not a number from 0 to 65535`},
	{"ops_listen", "ops_listen = \"9464\"\n", `posserver.toml:1: ops_listen: "9464" is not host:port (e.g. "127.0.0.1:9464" or ":9464"); "" turns it off`},
	{"ops_listen port", "ops_listen = \"[::1]:99999\"\n", `posserver.toml:1: ops_listen: "[::1]:99999": port "99999" is not a number from 0 to 65535; "" turns it off`},
	{"db", "db = \" \"\n", `posserver.toml:1: db: must name a SQLite file or a PostgreSQL URL (postgres://user:password@host:5432/multipos)`},
	{"db sqlite query", "db = \"pos.db?mode=ro\"\n", `posserver.toml:1: db: "pos.db?mode=ro": a SQLite file name cannot contain '?' or '#'`},
	{"db postgres host", "db = \"postgres:///multipos\"\n", `posserver.toml:1: db: "postgres:///multipos" names no host (postgres://user:password@host:5432/multipos)`},
	{"db postgres bad", "db = \"postgresql://u:p@db:x/multipos\"\n", "posserver.toml:1: db: " + badPostgres},
	{"pki_dir", "pki_dir = \"\"\n", `posserver.toml:1: pki_dir: must name the directory of the server's CA and keys (created if missing)`},
	{"hosts empty", "hosts = []\n", `posserver.toml:1: hosts: at least one name or IP address is needed: the server certificate must cover the address terminals connect to`},
	{"hosts bad", "hosts = [\n  \"pos.example.com\",\n  \"pos_1.example.com\",\n  \"-pos\",\n  \"a..b\",\n  \"fe80::1%eth0\",\n  \"*.example.com\",\n]\n",
		`posserver.toml:3: hosts: "pos_1.example.com" is neither a DNS name (letters, digits, '-' and '.') nor an IP address` + "\n" +
			`posserver.toml:4: hosts: "-pos" is neither a DNS name (letters, digits, '-' and '.') nor an IP address` + "\n" +
			`posserver.toml:5: hosts: "a..b" is neither a DNS name (letters, digits, '-' and '.') nor an IP address` + "\n" +
			`posserver.toml:6: hosts: "fe80::1%eth0" is neither a DNS name (letters, digits, '-' and '.') nor an IP address` + "\n" +
			`posserver.toml:7: hosts: "*.example.com" is neither a DNS name (letters, digits, '-' and '.') nor an IP address`},
	{"hosts type", "hosts = \"localhost\"\n", `posserver.toml:1: hosts: expected an array such as ["enter"], found text`},
	{"public_url http", "public_url = \"http://localhost:8443\"\n", `posserver.toml:1: public_url: the terminal API is HTTPS with mutual TLS; write https://…`},
	{"public_url host", "public_url = \"https:///x\"\n", `posserver.toml:1: public_url: "https:///x" names no host`},
	{"public_url not in hosts", "hosts = [\"pos.example.com\"]\npublic_url = \"https://pos.example.org:8443\"\n", `posserver.toml:2: public_url: the host "pos.example.org" is not in hosts, so terminals would refuse the server's certificate; add it to hosts`},
	{"merchant retired", "listen = \":8443\"\n\n[merchant]\nid = \"898310048160001\"\nname = \"x\"\n", "posserver.toml:3: " + retiredMerchant},
	{"merchant retired dotted", "merchant.id = \"x\"\nmerchant.name = \"y\"\n", "posserver.toml:1: " + retiredMerchant},
	{"merchant retired inline", "\nmerchant = { id = 5 }\n", "posserver.toml:2: " + retiredMerchant},
	{"terminals retired", "qr_ttl = \"2m\"\n[[terminals]]\nid = \"T1\"\npin_key = \"0123456789ABCDEFFEDCBA9876543210\"\n\n[[terminals]]\nid = \"T2\"\n", "posserver.toml:2: " + retiredTerminals},
	{"terminals retired inline", "terminals = [\n  { id = \"T1\" },\n]\n", "posserver.toml:1: " + retiredTerminals},
	{"terminals retired empty", "\n\nterminals = []\n", "posserver.toml:3: " + retiredTerminals},
	{"terminals retired nested", "[[terminals]]\nid = \"T1\"\n[terminals.keys]\npin = \"x\"\n", "posserver.toml:1: " + retiredTerminals},
	{"retired with others", "[merchant]\nid = \"1\"\n[[terminals]]\nid = \"T1\"\n[extra]\n",
		"posserver.toml:1: " + retiredMerchant + "\n" +
			"posserver.toml:3: " + retiredTerminals + "\n" +
			"posserver.toml:5: unknown table [extra]"},
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

// A file written for an earlier version says what to change, line by line,
// in one run.
func TestUpgradeFromOldFiles(t *testing.T) {
	for _, c := range []struct {
		load func(string) error
		file string
		want []string
	}{
		{func(p string) error { _, err := LoadTerminal(p); return err }, "old-pos.toml", []string{
			"7: terminal_id: no longer set here: the terminal id comes from the terminal bundle (bundle = \"…\") that `posserver terminal add` issues",
			"14: server: the terminal API is HTTPS with mutual TLS; write https://…",
			`23: pin_key: no longer set here: the terminal's key comes from its bundle (bundle = "…")`,
		}},
		{func(p string) error { _, err := LoadServer(p); return err }, "old-posserver.toml", []string{
			"14: " + retiredMerchant,
			"22: " + retiredTerminals,
		}},
	} {
		p := filepath.Join("testdata", c.file)
		var want []string
		for _, w := range c.want {
			want = append(want, p+":"+w)
		}
		if err := c.load(p); err == nil || err.Error() != strings.Join(want, "\n") {
			t.Errorf("%s:\ngot  %v\nwant %s", p, err, strings.Join(want, "\n"))
		}
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
