package config

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/multipos/multipos/i18n"
)

func validateTerminal(p *problems, md toml.MetaData, t *Terminal) {
	if l, err := i18n.Parse(string(t.Lang)); err != nil {
		p.at(path("lang"), "lang: %v", err)
	} else {
		t.Lang = l
	}
	if t.Server != "" {
		if _, err := checkHTTPSURL(t.Server); err != nil {
			p.at(path("server"), "server: %v", err)
		}
	}
	validatePrinter(p, &t.Printer)
	if pw := t.SupervisorPassword; pw != "" && (len(pw) < 4 || len(pw) > 12 || !allDigits(pw, len(pw))) {
		p.at(path("supervisor_password"), "supervisor_password: must be 4 to 12 digits (the cashier types it on the number keys), or \"\" to turn voids and refunds off")
	}
	switch t.Reader.Kind {
	case "none", "pcsc":
	default:
		p.at(path("reader", "kind"), `reader.kind: %q is not a reader kind (use "none" or "pcsc")`, t.Reader.Kind)
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
		{"insert_card", &k.InsertCard}, {"paper_out", &k.PaperOut}, {"end_day", &k.EndDay},
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
	if err := checkListen(s.Listen, "8443"); err != nil {
		p.at(path("listen"), "listen: %v", err)
	}
	if s.OpsListen != "" {
		if err := checkListen(s.OpsListen, "9464"); err != nil {
			p.at(path("ops_listen"), `ops_listen: %v; "" turns it off`, err)
		}
	}
	if err := checkDB(s.DB); err != nil {
		p.at(path("db"), "db: %v", err)
	}
	if strings.TrimSpace(s.PKIDir) == "" {
		p.at(path("pki_dir"), "pki_dir: must name the directory of the server's CA and keys (created if missing)")
	}
	checkSealKeys(p, s.Keys)
	if len(s.Hosts) == 0 {
		p.at(path("hosts"), "hosts: at least one name or IP address is needed: the server certificate must cover the address terminals connect to")
	}
	for i, h := range s.Hosts {
		if !isHost(h) {
			p.at(path("hosts", i), "hosts: %q is neither a DNS name (letters, digits, '-' and '.') nor an IP address", h)
		}
	}
	if s.PublicURL != "" {
		if u, err := checkHTTPSURL(s.PublicURL); err != nil {
			p.at(path("public_url"), "public_url: %v", err)
		} else if len(s.Hosts) > 0 && !slices.ContainsFunc(s.Hosts, func(h string) bool { return sameHost(h, u.Hostname()) }) {
			p.at(path("public_url"), "public_url: the host %q is not in hosts, so terminals would refuse the server's certificate; add it to hosts", u.Hostname())
		}
	}
	checkDuration(p, md, "qr_ttl", s.QRTTL, 30*time.Second, 10*time.Minute, "30s to 10m")
	checkDuration(p, md, "request_retention", s.RequestRetention, time.Hour, 8760*time.Hour, "1h to 8760h")
	checkDay(p, s)
	checkLimits(p, "limits", s.Limits)
	checkLimits(p, "merchant_limits", s.MerchantLimits)
	checkTiming(p, md, s)
	checkReconcile(p, s)
	if s.NotifyListen != "" {
		if _, _, err := net.SplitHostPort(s.NotifyListen); err != nil {
			p.at(path("notify_listen"), "notify_listen: %q is not host:port", s.NotifyListen)
		}
	}
	if a := s.Alipay; a != nil {
		required(p, "alipay", map[string]string{"app_id": a.AppID, "private_key_file": a.PrivateKeyFile,
			"alipay_public_key_file": a.AlipayPublicKeyFile, "notify_url": a.NotifyURL})
		checkWalletURL(p, "alipay", "gateway", a.Gateway)
		checkWalletURL(p, "alipay", "notify_url", a.NotifyURL)
	}
	if w := s.WeChat; w != nil {
		required(p, "wechat", map[string]string{"mch_id": w.MchID, "app_id": w.AppID, "serial_no": w.SerialNo,
			"private_key_file": w.PrivateKeyFile, "apiv3_key_file": w.APIv3KeyFile, "public_key_id": w.PublicKeyID,
			"public_key_file": w.PublicKeyFile, "notify_url": w.NotifyURL})
		checkWalletURL(p, "wechat", "endpoint", w.Endpoint)
		checkWalletURL(p, "wechat", "notify_url", w.NotifyURL)
	}
	if b := s.Bank; b != nil {
		if _, port, err := net.SplitHostPort(b.Addr); err != nil || port == "" {
			p.at(path("bank", "addr"), "bank.addr: %q is not host:port of the acquirer's front-end", b.Addr)
		}
		if b.Timeout != 0 {
			checkDuration(p, md, "bank.timeout", b.Timeout, time.Second, 2*time.Minute, "1s to 2m")
		}
		checkSettlementFiles(p, b.SettlementFiles)
	}
	if (s.Alipay != nil || s.WeChat != nil) && s.NotifyListen == "" {
		p.at(path("notify_listen"), "notify_listen: the wallets post payment results there; set it (e.g. \"0.0.0.0:8080\") with [alipay] or [wechat]")
	}
}

// required names the keys of a section left empty.
func required(p *problems, section string, keys map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if strings.TrimSpace(keys[k]) == "" {
			p.at(path(section), "%s.%s: required", section, k)
		}
	}
}

// checkWalletURL accepts an http(s) URL with a host; "" is the default.
func checkWalletURL(p *problems, section, key, v string) {
	if v == "" {
		return
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" {
		p.at(path(section, key), "%s.%s: %q is not an http(s) URL", section, key, v)
	}
}

// checkDuration rejects a duration outside [lo, hi]. A bare number in the
// file is nanoseconds to the decoder, which is never what was meant.
func checkDuration(p *problems, md toml.MetaData, key string, d, lo, hi time.Duration, rng string) {
	if d >= lo && d <= hi {
		return
	}
	msg := fmt.Sprintf("%s: %v is out of range (%s)", key, d, rng)
	if md.Type(key) == "Integer" {
		msg += `; write it as text with a unit, e.g. "2m"`
	}
	p.at(path(key), "%s", msg)
}

func checkLimits(p *problems, key string, rules map[string]ChannelRule) {
	for _, ch := range slices.Sorted(maps.Keys(rules)) {
		r := rules[ch]
		if !slices.Contains(channelNames, ch) {
			p.at(path(key, ch), "%s: unknown channel %q (use %s)", key, ch, strings.Join(channelNames, ", "))
			continue
		}
		if r.Single < 0 || r.Daily < 0 {
			p.at(path(key, ch), "%s.%s: limits cannot be negative", key, ch)
		}
		if r.Single > 0 && r.Daily > 0 && r.Single > r.Daily {
			p.at(path(key, ch, "single"), "%s.%s.single: %s is above the daily limit %s", key, ch, r.Single.Grouped(), r.Daily.Grouped())
		}
	}
}

func path(elems ...any) []any { return elems }

// checkHTTPSURL accepts only https: terminals reach the server with mutual
// TLS, so any other URL would fail at the counter, at the first payment.
func checkHTTPSURL(s string) (*url.URL, error) {
	if len(s) >= len("http://") && strings.EqualFold(s[:len("http://")], "http://") {
		return nil, errors.New("the terminal API is HTTPS with mutual TLS; write https://…")
	}
	if !strings.Contains(s, "://") {
		return nil, fmt.Errorf("%q must start with https://", s)
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%q is not a URL", s)
	case u.Scheme != "https":
		return nil, fmt.Errorf("%q must start with https://", s)
	case u.Hostname() == "":
		return nil, fmt.Errorf("%q names no host", s)
	}
	return u, nil
}

// envNameRE is what a shell accepts as a variable name.
var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkSealKeys allows one place for the seal key: two would leave it
// unclear which key the folder is sealed under.
func checkSealKeys(p *problems, k SealKeys) {
	if k.SealKeyFile != "" && k.SealKeyEnv != "" {
		p.at(path("keys", "seal_key_env"), "keys: set seal_key_file or seal_key_env, not both")
	}
	if k.SealKeyEnv != "" && !envNameRE.MatchString(k.SealKeyEnv) {
		p.at(path("keys", "seal_key_env"), "keys.seal_key_env: %q is not an environment variable name (letters, digits and '_', e.g. \"MULTIPOS_SEAL_KEY\"); the key itself never goes in this file", k.SealKeyEnv)
	}
}

// isPostgres tells a PostgreSQL URL from a SQLite path as the store does.
func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// checkDB never shows a password: errors end up in logs. A URL that does not
// parse cannot be redacted reliably, so it is not shown at all.
func checkDB(db string) error {
	const example = "postgres://user:password@host:5432/multipos"
	switch {
	case strings.TrimSpace(db) == "":
		return errors.New("must name a SQLite file or a PostgreSQL URL (" + example + ")")
	case isPostgres(db):
		u, err := url.Parse(db)
		if err != nil {
			return errors.New("not a valid PostgreSQL URL (" + example + "); percent-encode @ : / ? # % in the user name and password")
		}
		if u.Hostname() == "" {
			return fmt.Errorf("%q names no host (%s)", redact(u), example)
		}
	case strings.ContainsAny(db, "?#"):
		// The store opens SQLite through a file: URI, where these would
		// start a query or fragment and silently name another file.
		return fmt.Errorf("%q: a SQLite file name cannot contain '?' or '#'", db)
	}
	return nil
}

// redact hides the password in the user info and in a password parameter,
// where PostgreSQL also accepts one.
func redact(u *url.URL) string {
	r := *u
	if q := r.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		r.RawQuery = q.Encode()
	}
	return r.Redacted()
}

// isHost accepts what can go into the server certificate's subject
// alternative names: an IP address or a DNS name.
func isHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r == '-') {
				return false
			}
		}
	}
	return true
}

func sameHost(a, b string) bool {
	if ia, ib := net.ParseIP(a), net.ParseIP(b); ia != nil || ib != nil {
		return ia.Equal(ib)
	}
	return strings.EqualFold(a, b)
}

// checkListen takes the default port for its example, so that the message
// about each address shows a value that would make sense there.
func checkListen(s, examplePort string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port (e.g. \"127.0.0.1:%s\" or \":%s\")", s, examplePort, examplePort)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: port %q is not a number from 0 to 65535", s, port)
	}
	return nil
}

func allDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// checkSettlementFiles accepts "", or a path or https URL with {date} in
// it (http only to this machine: a sandbox). The same rules as
// bank.CheckSettlementSource, which config does not import.
func checkSettlementFiles(p *problems, v string) {
	const key = "bank.settlement_files"
	if v == "" {
		return
	}
	if !strings.Contains(v, "{date}") {
		p.at(path("bank", "settlement_files"), "%s: %q has no {date} (the day as YYYYMMDD), e.g. \"/srv/sftp/acquirer/settlement-{date}.csv\" or \"https://files.acquirer.example/settlement-{date}.csv\"", key, v)
		return
	}
	if !strings.Contains(v, "://") {
		return
	}
	u, err := url.Parse(strings.ReplaceAll(v, "{date}", "20060102"))
	loopback := err == nil && (u.Hostname() == "localhost" || u.Hostname() == "::1" || strings.HasPrefix(u.Hostname(), "127."))
	if err != nil || u.Hostname() == "" || !(u.Scheme == "https" || u.Scheme == "http" && loopback) {
		p.at(path("bank", "settlement_files"), "%s: %q is not an https URL (http only to localhost)", key, v)
	}
}

// checkReconcile checks the daily reconciliation's settings.
func checkReconcile(p *problems, s *Server) {
	if a := s.ReconcileAt; a != "off" {
		if _, err := time.Parse("15:04", a); err != nil {
			p.at(path("reconcile_at"), `reconcile_at: %q: want a time of day, HH:MM (e.g. "10:30"), or "off"`, a)
		}
	}
	if strings.TrimSpace(s.BillsDir) == "" {
		p.at(path("bills_dir"), "bills_dir: must name the directory the channels' bills are kept in (created if missing)")
	}
}
