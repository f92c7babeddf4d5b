package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/money"
)

// load writes text to dir/name and loads it with the loader for that name,
// returning the error text with the directory removed, so that expectations
// read "pos.toml:12: …".
func load(t *testing.T, name, text string) (any, string) {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var v any
	var err error
	if name == "posserver.toml" {
		v, err = LoadServer(p)
	} else {
		v, err = LoadTerminal(p)
	}
	if err == nil {
		return v, ""
	}
	var ce *Error
	if !errors.As(err, &ce) || ce.File != p {
		t.Errorf("error %v is not a *config.Error naming %s", err, p)
	}
	return v, strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
}

func TestDefaultTerminal(t *testing.T) {
	d := DefaultTerminal()
	if d.Bundle != "" || d.Lang != i18n.ZH || d.Server != "" || d.StateDir != "" ||
		!reflect.DeepEqual(d.Printer, Printer{Kind: "none", Width: 32}) {
		t.Errorf("DefaultTerminal() = %+v", d)
	}
	want := Keys{
		Confirm: []string{"enter"}, Cancel: []string{"esc"}, Delete: []string{"backspace"},
		Function: []string{"f1"}, Symbol: []string{"*"}, Quit: []string{"ctrl+c"},
		CustomerPays: []string{"f5"}, CustomerDeclines: []string{"f6"}, InsertCard: []string{"f7"}, PaperOut: []string{"f8"},
		EndDay: []string{"f9"},
	}
	if !reflect.DeepEqual(d.Keys, want) {
		t.Errorf("default keys = %+v, want %+v", d.Keys, want)
	}
	got, err := LoadTerminal("")
	if err != nil || !reflect.DeepEqual(got, d) {
		t.Errorf(`LoadTerminal("") = %+v, %v; want the defaults`, got, err)
	}
	// Each call returns fresh slices: a caller changing its copy cannot change the defaults.
	got.Keys.Confirm[0] = "f9"
	if DefaultTerminal().Keys.Confirm[0] != "enter" {
		t.Error("DefaultTerminal shares its key slices between calls")
	}
}

func TestDefaultServer(t *testing.T) {
	d := DefaultServer()
	if d.Listen != "127.0.0.1:8443" || d.OpsListen != "127.0.0.1:9464" || d.DB != "posserver.db" ||
		d.PKIDir != "pki" || d.PublicURL != "" || d.QRTTL != 2*time.Minute || d.RequestRetention != 168*time.Hour {
		t.Errorf("DefaultServer() = %+v", d)
	}
	if !reflect.DeepEqual(d.Hosts, []string{"localhost", "127.0.0.1", "::1"}) {
		t.Errorf("default hosts = %q", d.Hosts)
	}
	want := map[string]ChannelRule{
		"alipay": {Single: 2000000, Daily: 20000000},
		"wechat": {Single: 1000000, Daily: 10000000},
		"card":   {Single: 5000000, Daily: 50000000},
	}
	if !reflect.DeepEqual(d.Limits, want) {
		t.Errorf("default limits = %+v", d.Limits)
	}
	if d.MerchantLimits == nil || len(d.MerchantLimits) != 0 {
		t.Errorf("default merchant limits = %#v, want an empty map", d.MerchantLimits)
	}
	got, err := LoadServer("")
	if err != nil || !reflect.DeepEqual(got, d) {
		t.Errorf(`LoadServer("") = %+v, %v`, got, err)
	}
	// Each call returns fresh slices and maps.
	got.Hosts[0] = "example.com"
	got.Limits["card"] = ChannelRule{}
	got.MerchantLimits["card"] = ChannelRule{Daily: 1}
	if d := DefaultServer(); d.Hosts[0] != "localhost" || d.Limits["card"].Daily == 0 || len(d.MerchantLimits) != 0 {
		t.Error("DefaultServer shares its hosts or limits between calls")
	}
}

// An empty file is valid and means the defaults: the defaults pass validation.
func TestEmptyFilesAreDefaults(t *testing.T) {
	v, msg := load(t, "pos.toml", "")
	if msg != "" {
		t.Fatal(msg)
	}
	term := v.(Terminal)
	term.Path = ""
	if !reflect.DeepEqual(term, DefaultTerminal()) {
		t.Errorf("empty pos.toml = %+v", term)
	}
	// Without a file the paths stay relative to the working directory;
	// with one, they are beside it.
	dir := t.TempDir()
	p := filepath.Join(dir, "posserver.toml")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	srv, err := LoadServer(p)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultServer()
	want.Path, want.DB, want.PKIDir = p, filepath.Join(dir, "posserver.db"), filepath.Join(dir, "pki")
	want.BillsDir = filepath.Join(dir, "bills")
	if !reflect.DeepEqual(srv, want) {
		t.Errorf("empty posserver.toml = %+v\nwant %+v", srv, want)
	}
}

// The example files document the defaults: they load, and say exactly them.
func TestExampleFiles(t *testing.T) {
	term, err := LoadTerminal("pos.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	if term.Path != "pos.example.toml" {
		t.Errorf("Path = %q", term.Path)
	}
	term.Path = ""
	if !reflect.DeepEqual(term, DefaultTerminal()) {
		t.Errorf("pos.example.toml = %+v, want the defaults", term)
	}
	srv, err := LoadServer("posserver.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	srv.Path = ""
	if !reflect.DeepEqual(srv, DefaultServer()) {
		t.Errorf("posserver.example.toml = %+v, want the defaults", srv)
	}
}

func TestMissingFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pos.toml")
	_, err := LoadTerminal(p)
	if err == nil || err.Error() != "config "+p+": file not found" {
		t.Errorf("error = %v", err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Error("a missing file's error does not wrap fs.ErrNotExist")
	}
	if _, err := LoadServer(p); err == nil || err.Error() != "config "+p+": file not found" {
		t.Errorf("LoadServer error = %v", err)
	}
	dir := t.TempDir()
	if _, err := LoadTerminal(dir); err == nil || !strings.HasPrefix(err.Error(), "config "+dir+": ") {
		t.Errorf("reading a directory: %v", err)
	}
}

func TestOverlay(t *testing.T) {
	v, msg := load(t, "pos.toml", `
lang = "EN-us"
[printer]
kind = "file"
path = "/dev/usb/lp0"
[keys]
confirm = ["Enter", "space"]
function = ["F2"]
symbol = ["alt+X", "#"]
`)
	if msg != "" {
		t.Fatal(msg)
	}
	term := v.(Terminal)
	if term.Lang != i18n.EN {
		t.Errorf("lang = %q, want en", term.Lang)
	}
	if !reflect.DeepEqual(term.Printer, Printer{Kind: "file", Path: "/dev/usb/lp0", Width: 32}) {
		t.Errorf("printer = %+v (width should keep its default)", term.Printer)
	}
	if !reflect.DeepEqual(term.Keys.Confirm, []string{"enter", " "}) ||
		!reflect.DeepEqual(term.Keys.Function, []string{"f2"}) ||
		!reflect.DeepEqual(term.Keys.Symbol, []string{"alt+X", "#"}) {
		t.Errorf("keys not as Bubble Tea spells them: %+v", term.Keys)
	}
	if !reflect.DeepEqual(term.Keys.Cancel, []string{"esc"}) || term.Server != "" || term.Bundle != "" {
		t.Errorf("keys the file does not set lost their defaults: %+v", term)
	}
}

func TestServerOverlay(t *testing.T) {
	v, msg := load(t, "posserver.toml", `
ops_listen = ""
hosts = ["pos.example.com", "10.0.0.5"]
public_url = "https://POS.example.com:443"
request_retention = "720h"
[limits.alipay]
single = "1,000.50"
[limits.card]
enabled = false
[merchant_limits.wechat]
daily = "500000"
[merchant_limits.alipay]
enabled = false
`)
	if msg != "" {
		t.Fatal(msg)
	}
	s := v.(Server)
	if s.OpsListen != "" || s.Listen != "127.0.0.1:8443" || s.PublicURL != "https://POS.example.com:443" ||
		s.RequestRetention != 30*24*time.Hour || s.QRTTL != 2*time.Minute {
		t.Errorf("server = %+v", s)
	}
	if !reflect.DeepEqual(s.Hosts, []string{"pos.example.com", "10.0.0.5"}) {
		t.Errorf("hosts = %q; the file's list should replace the default one", s.Hosts)
	}
	if a := s.Limits["alipay"]; a.Single != money.Fen(100050) || a.Daily != money.Fen(20000000) {
		t.Errorf("alipay = %+v; daily should keep its default", a)
	}
	if c := s.Limits["card"]; c.Enabled == nil || *c.Enabled || c.Single != 5000000 {
		t.Errorf("card = %+v", c)
	}
	if w := s.Limits["wechat"]; w.Single != 1000000 {
		t.Errorf("wechat = %+v; a channel the file omits keeps its defaults", w)
	}
	if len(s.MerchantLimits) != 2 {
		t.Errorf("merchant limits = %+v; only the channels the file names", s.MerchantLimits)
	}
	if w := s.MerchantLimits["wechat"]; w != (ChannelRule{Daily: 50000000}) {
		t.Errorf("merchant wechat = %+v", w)
	}
	if a := s.MerchantLimits["alipay"]; a.Enabled == nil || *a.Enabled || a.Single != 0 || a.Daily != 0 {
		t.Errorf("merchant alipay = %+v", a)
	}
}

// The bundle is looked for beside pos.toml, wherever the app starts.
func TestBundlePath(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pos.toml")
	abs := filepath.Join(t.TempDir(), "T001.pem")
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"T001.pem", filepath.Join(dir, "T001.pem")},
		{"./keys/T001.pem", filepath.Join(dir, "keys", "T001.pem")},
		{"../T001.pem", filepath.Join(filepath.Dir(dir), "T001.pem")},
		{abs, abs},
	} {
		if err := os.WriteFile(p, []byte("bundle = "+strconv.Quote(c.in)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		term, err := LoadTerminal(p)
		if err != nil || term.Bundle != c.want {
			t.Errorf("bundle = %q: got %q, %v; want %q", c.in, term.Bundle, err, c.want)
		}
	}
	// A relative config path gives a bundle path relative to the same directory.
	if term, err := LoadTerminal(filepath.Join("testdata", "pos.toml")); err != nil || term.Bundle != filepath.Join("testdata", "T001.pem") {
		t.Errorf("testdata/pos.toml: bundle %q, %v", term.Bundle, err)
	}
	// The bundle need not exist: the app reports a missing one.
	if _, err := os.Stat(filepath.Join("testdata", "T001.pem")); err == nil {
		t.Fatal("testdata/T001.pem should not exist")
	}
}

func TestServerPaths(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "posserver.toml")
	abs := t.TempDir()
	for _, c := range []struct{ db, pki, wantDB, wantPKI string }{
		{"data/pos.db", "ca", filepath.Join(dir, "data", "pos.db"), filepath.Join(dir, "ca")},
		{filepath.Join(abs, "pos.db"), abs, filepath.Join(abs, "pos.db"), abs},
		{"postgres://pos:secret@db.example.com/multipos", "../pki", "postgres://pos:secret@db.example.com/multipos", filepath.Join(filepath.Dir(dir), "pki")},
		{"postgresql://db.example.com/multipos?sslmode=verify-full", "pki", "postgresql://db.example.com/multipos?sslmode=verify-full", filepath.Join(dir, "pki")},
	} {
		text := "db = " + strconv.Quote(c.db) + "\npki_dir = " + strconv.Quote(c.pki) + "\n"
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := LoadServer(p)
		if err != nil || s.DB != c.wantDB || s.PKIDir != c.wantPKI {
			t.Errorf("%s: got db %q, pki_dir %q, %v; want %q, %q", text, s.DB, s.PKIDir, err, c.wantDB, c.wantPKI)
		}
	}
	s, err := LoadServer(filepath.Join("testdata", "posserver.toml"))
	if err != nil || s.DB != filepath.Join("testdata", "posserver.db") || s.PKIDir != filepath.Join("testdata", "pki") {
		t.Errorf("testdata/posserver.toml: db %q, pki_dir %q, %v", s.DB, s.PKIDir, err)
	}
}

// A database password is a secret: a message about the URL must not show it.
func TestDBPasswordNotEchoed(t *testing.T) {
	for _, c := range []struct{ db, want string }{
		{"postgres://pos:s3cret@/multipos", `posserver.toml:1: db: "postgres://pos:xxxxx@/multipos" names no host (postgres://user:password@host:5432/multipos)`},
		{"postgresql:///multipos?user=pos&password=s3cret", `posserver.toml:1: db: "postgresql:///multipos?password=xxxxx&user=pos" names no host (postgres://user:password@host:5432/multipos)`},
		{"postgres://pos:s3cret@db:5x/multipos", `posserver.toml:1: db: not a valid PostgreSQL URL (postgres://user:password@host:5432/multipos); percent-encode @ : / ? # % in the user name and password`},
		{"postgres://pos:s3/cret@db/multipos", `posserver.toml:1: db: not a valid PostgreSQL URL (postgres://user:password@host:5432/multipos); percent-encode @ : / ? # % in the user name and password`},
		{"postgres://pos:s3%cret@db/multipos", `posserver.toml:1: db: not a valid PostgreSQL URL (postgres://user:password@host:5432/multipos); percent-encode @ : / ? # % in the user name and password`},
	} {
		_, msg := load(t, "posserver.toml", "db = "+strconv.Quote(c.db)+"\n")
		if msg != c.want || strings.Contains(msg, "s3") {
			t.Errorf("db = %q:\ngot  %s\nwant %s", c.db, msg, c.want)
		}
	}
}
