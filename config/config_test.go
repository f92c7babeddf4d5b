package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
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
	if d.TerminalID != "T0000001" || d.Lang != i18n.ZH || d.Server != "http://127.0.0.1:8080" ||
		d.Printer != (Printer{Kind: "none", Width: 32}) || d.PINKey != DemoPINKey {
		t.Errorf("DefaultTerminal() = %+v", d)
	}
	want := Keys{
		Confirm: []string{"enter"}, Cancel: []string{"esc"}, Delete: []string{"backspace"},
		Function: []string{"f1"}, Symbol: []string{"*"}, Quit: []string{"ctrl+c"},
		CustomerPays: []string{"f5"}, CustomerDeclines: []string{"f6"}, InsertCard: []string{"f7"},
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
	if d.Listen != "127.0.0.1:8080" || d.DB != "posserver.db" || d.QRTTL != 2*time.Minute ||
		d.Merchant.ID != "898310048160001" || d.Merchant.Name == "" {
		t.Errorf("DefaultServer() = %+v", d)
	}
	if len(d.Terminals) != 1 || d.Terminals[0].ID != DefaultTerminal().TerminalID || d.Terminals[0].PINKey != DefaultTerminal().PINKey {
		t.Errorf("default terminals %+v do not match DefaultTerminal", d.Terminals)
	}
	want := map[string]ChannelRule{
		"alipay": {Single: 2000000, Daily: 20000000},
		"wechat": {Single: 1000000, Daily: 10000000},
		"card":   {Single: 5000000, Daily: 50000000},
	}
	if !reflect.DeepEqual(d.Limits, want) {
		t.Errorf("default limits = %+v", d.Limits)
	}
	if got, err := LoadServer(""); err != nil || !reflect.DeepEqual(got, d) {
		t.Errorf(`LoadServer("") = %+v, %v`, got, err)
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
	v, msg = load(t, "posserver.toml", "")
	if msg != "" {
		t.Fatal(msg)
	}
	srv := v.(Server)
	srv.Path = ""
	if !reflect.DeepEqual(srv, DefaultServer()) {
		t.Errorf("empty posserver.toml = %+v", srv)
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
	if term.Printer != (Printer{Kind: "file", Path: "/dev/usb/lp0", Width: 32}) {
		t.Errorf("printer = %+v (width should keep its default)", term.Printer)
	}
	if !reflect.DeepEqual(term.Keys.Confirm, []string{"enter", " "}) ||
		!reflect.DeepEqual(term.Keys.Function, []string{"f2"}) ||
		!reflect.DeepEqual(term.Keys.Symbol, []string{"alt+X", "#"}) {
		t.Errorf("keys not as Bubble Tea spells them: %+v", term.Keys)
	}
	if !reflect.DeepEqual(term.Keys.Cancel, []string{"esc"}) || term.TerminalID != "T0000001" {
		t.Errorf("keys the file does not set lost their defaults: %+v", term)
	}
}

func TestServerOverlay(t *testing.T) {
	v, msg := load(t, "posserver.toml", `
[[terminals]]
id = "T2"
pin_key = "00112233445566778899AABBCCDDEEFF0011223344556677"
[limits.alipay]
single = "1,000.50"
[limits.card]
enabled = false
`)
	if msg != "" {
		t.Fatal(msg)
	}
	s := v.(Server)
	if len(s.Terminals) != 1 || s.Terminals[0].ID != "T2" {
		t.Errorf("terminals = %+v; the file's list should replace the default one", s.Terminals)
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
	// A terminal in the file does not inherit the demo key.
	_, msg = load(t, "posserver.toml", "[[terminals]]\nid = \"T2\"\n")
	if want := "posserver.toml:1: terminals[0].pin_key: must be set: 32 or 48 hex digits"; msg != want {
		t.Errorf("got  %s\nwant %s", msg, want)
	}
}

// The PIN key is a secret: a message about it must not quote it.
func TestPINKeyNotEchoed(t *testing.T) {
	for _, key := range []string{"0123456789ABCDEFFEDCBA987654321", "0123456789ABCDEFFEDCBA987654321Z"} {
		_, msg := load(t, "pos.toml", "pin_key = \""+key+"\"\n")
		if msg == "" || strings.Contains(msg, key[:20]) {
			t.Errorf("message %q", msg)
		}
	}
}
