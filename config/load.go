package config

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// LoadTerminal reads pos.toml: the defaults overlaid by the file. An empty
// path means no file: the defaults. A relative bundle path is resolved
// against the file's directory, where `posserver terminal add` tells the
// operator to put the bundle. On error the Terminal is zero and the error
// is an *Error, or several joined with errors.Join, each naming the file
// and line.
func LoadTerminal(path string) (Terminal, error) {
	if path == "" {
		return DefaultTerminal(), nil
	}
	data, err := readFile(path)
	if err != nil {
		return Terminal{}, err
	}
	return parseTerminal(path, data)
}

// LoadServer reads posserver.toml as LoadTerminal reads pos.toml. A
// channel's table under [limits] or [merchant_limits] overrides only the
// keys it sets. Relative paths (db when it is not a URL, pki_dir) are
// resolved against the file's directory, defaults included, so that a
// server started from another directory still finds its database.
func LoadServer(path string) (Server, error) {
	if path == "" {
		return DefaultServer(), nil
	}
	data, err := readFile(path)
	if err != nil {
		return Server{}, err
	}
	return parseServer(path, data)
}

func readFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", &Error{File: path, Msg: "file not found", Err: err}
	case err != nil:
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return "", &Error{File: path, Msg: pe.Err.Error(), Err: err}
		}
		return "", &Error{File: path, Msg: err.Error(), Err: err}
	}
	return string(data), nil
}

func parseTerminal(path, data string) (Terminal, error) {
	t := DefaultTerminal()
	md, err := toml.Decode(data, &t)
	if err != nil {
		return Terminal{}, decodeError(path, data, md, err)
	}
	p := &problems{file: path, loc: locate(data)}
	checkKeys(p, md, reflect.TypeOf(Terminal{}), retiredTerminal)
	validateTerminal(p, md, &t)
	if err := p.err(); err != nil {
		return Terminal{}, err
	}
	t.Path = path
	t.Bundle = besideFile(path, t.Bundle)
	return t, nil
}

// serverFile is Server as decoded: limits stay raw until each channel's
// defaults are in place, because the decoder would otherwise start every
// channel from zero and a file setting only "single" would lift the daily
// limit without saying so.
type serverFile struct {
	Listen           string                    `toml:"listen"`
	OpsListen        string                    `toml:"ops_listen"`
	DB               string                    `toml:"db"`
	PKIDir           string                    `toml:"pki_dir"`
	Hosts            []string                  `toml:"hosts"`
	PublicURL        string                    `toml:"public_url"`
	QRTTL            time.Duration             `toml:"qr_ttl"`
	RequestRetention time.Duration             `toml:"request_retention"`
	BusinessZone     string                    `toml:"business_zone"`
	Limits           map[string]toml.Primitive `toml:"limits"`
	MerchantLimits   map[string]toml.Primitive `toml:"merchant_limits"`
	NotifyListen     string                    `toml:"notify_listen"`
	Alipay           *Alipay                   `toml:"alipay"`
	WeChat           *WeChat                   `toml:"wechat"`
	Bank             *Bank                     `toml:"bank"`
	Demo             bool                      `toml:"demo"`
	Keys             SealKeys                  `toml:"keys"`
	ChannelTimeout   time.Duration             `toml:"channel_timeout"`
	SweepInterval    time.Duration             `toml:"sweep_interval"`
	Confirm          map[string]toml.Primitive `toml:"confirm"`
	SettleCutoff     string                    `toml:"settle_cutoff"`
	ReconcileAt      string                    `toml:"reconcile_at"`
	BillsDir         string                    `toml:"bills_dir"`
}

func parseServer(path, data string) (Server, error) {
	s := DefaultServer()
	f := serverFile{
		Listen: s.Listen, OpsListen: s.OpsListen, DB: s.DB, PKIDir: s.PKIDir, Hosts: s.Hosts,
		PublicURL: s.PublicURL, QRTTL: s.QRTTL, RequestRetention: s.RequestRetention, BusinessZone: s.BusinessZone,
		ChannelTimeout: s.ChannelTimeout, SweepInterval: s.SweepInterval, SettleCutoff: s.SettleCutoff,
		ReconcileAt: s.ReconcileAt, BillsDir: s.BillsDir,
	}
	md, err := toml.Decode(data, &f)
	if err != nil {
		return Server{}, decodeError(path, data, md, err)
	}
	// The decoder leaves a map untouched, without an error, when the file
	// gives something other than a table for it; this is that type error.
	for _, key := range []string{"limits", "merchant_limits", "confirm"} {
		if typ := md.Type(key); typ != "" && typ != "Hash" {
			return Server{}, &Error{File: path, Line: locate(data).line(key), Msg: key + ": expected a table, found " + tomlKinds[typ]}
		}
	}
	s.Listen, s.OpsListen, s.DB, s.PKIDir, s.Hosts = f.Listen, f.OpsListen, f.DB, f.PKIDir, f.Hosts
	s.PublicURL, s.QRTTL, s.RequestRetention, s.BusinessZone = f.PublicURL, f.QRTTL, f.RequestRetention, f.BusinessZone
	s.NotifyListen, s.Alipay, s.WeChat, s.Bank, s.Demo, s.Keys = f.NotifyListen, f.Alipay, f.WeChat, f.Bank, f.Demo, f.Keys
	s.ChannelTimeout, s.SweepInterval, s.SettleCutoff = f.ChannelTimeout, f.SweepInterval, f.SettleCutoff
	s.ReconcileAt, s.BillsDir = f.ReconcileAt, f.BillsDir
	if err := decodeConfirm(md, f.Confirm, s.Confirm); err != nil {
		return Server{}, decodeError(path, data, md, err)
	}
	for _, l := range []struct {
		raw   map[string]toml.Primitive
		rules map[string]ChannelRule
	}{{f.Limits, s.Limits}, {f.MerchantLimits, s.MerchantLimits}} {
		for _, ch := range slices.Sorted(maps.Keys(l.raw)) {
			rule := l.rules[ch]
			if err := md.PrimitiveDecode(l.raw[ch], &rule); err != nil {
				return Server{}, decodeError(path, data, md, err)
			}
			l.rules[ch] = rule
		}
	}
	p := &problems{file: path, loc: locate(data)}
	checkKeys(p, md, reflect.TypeOf(Server{}), retiredServer)
	validateServer(p, md, &s)
	if err := p.err(); err != nil {
		return Server{}, err
	}
	s.Path = path
	if !isPostgres(s.DB) {
		s.DB = besideFile(path, s.DB)
	}
	s.PKIDir, s.Keys.SealKeyFile = besideFile(path, s.PKIDir), besideFile(path, s.Keys.SealKeyFile)
	s.BillsDir = besideFile(path, s.BillsDir)
	if a := s.Alipay; a != nil {
		a.PrivateKeyFile, a.AlipayPublicKeyFile = besideFile(path, a.PrivateKeyFile), besideFile(path, a.AlipayPublicKeyFile)
	}
	if b := s.Bank; b != nil && !strings.Contains(b.SettlementFiles, "://") {
		b.SettlementFiles = besideFile(path, b.SettlementFiles)
	}
	if w := s.WeChat; w != nil {
		w.PrivateKeyFile, w.APIv3KeyFile, w.PublicKeyFile = besideFile(path, w.PrivateKeyFile), besideFile(path, w.APIv3KeyFile), besideFile(path, w.PublicKeyFile)
	}
	return s, nil
}

// besideFile resolves a path written in the configuration file at path
// against the file's directory: whoever wrote it was thinking of the files
// next to it, not of the directory the program happens to start in.
func besideFile(path, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(path), p)
}

// lastKeyRE reads the key and line out of the decoder's type errors, which
// are plain errors rather than toml.ParseError.
var lastKeyRE = regexp.MustCompile(`^toml: (?:line (\d+) )?\(last key "((?:[^"\\]|\\.)*)"\): (.*)$`)

// decodeError turns the decoder's syntax and type errors into an *Error
// with the file's name, the line and a message an operator can act on.
func decodeError(path, data string, md toml.MetaData, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		e := &Error{File: path, Line: pe.Position.Line, Msg: pe.Message, Err: err}
		if md.Keys() == nil { // the text did not parse: a syntax error, where the column helps
			e.Line, e.Col = lineCol(data, pe.Position)
			e.Msg = "syntax error: " + pe.Message
			return e
		}
		e.Msg = pe.LastKey + ": " + pe.Message
		if md.Type(splitKey(pe.LastKey)...) == "Float" &&
			(strings.HasPrefix(pe.LastKey, "limits.") || strings.HasPrefix(pe.LastKey, "merchant_limits.")) {
			e.Msg = pe.LastKey + `: write amounts as text in quotes, e.g. "20000.00" (a TOML float cannot hold money exactly)`
		}
		return e
	}
	m := lastKeyRE.FindStringSubmatch(err.Error())
	if m == nil {
		return &Error{File: path, Msg: strings.TrimPrefix(err.Error(), "toml: "), Err: err}
	}
	key := strings.ReplaceAll(m[2], `\"`, `"`)
	line := 0
	fmt.Sscan(m[1], &line)
	if line == 0 {
		segs := make([]any, 0, 4)
		for _, s := range splitKey(key) {
			segs = append(segs, s)
		}
		line = locate(data).line(segs...)
	}
	return &Error{File: path, Line: line, Msg: key + ": " + typeMessage(m[3]), Err: err}
}

// lineCol recomputes the position from the byte offset: the decoder counts
// an error at the end of a line as the start of the next one. Offsets are
// into the text after a byte-order mark, as the decoder drops it.
func lineCol(data string, p toml.Position) (int, int) {
	for _, bom := range []string{"\xef\xbb\xbf", "\xff\xfe", "\xfe\xff"} {
		if strings.HasPrefix(data, bom) {
			data = data[len(bom):]
			break
		}
	}
	if p.Start < 0 || p.Start > len(data) {
		return p.Line, p.Col
	}
	before := data[:p.Start]
	return strings.Count(before, "\n") + 1, p.Start - strings.LastIndexByte(before, '\n')
}

// tomlKinds words MetaData's type names as tomlTypeName words the decoder's.
var tomlKinds = map[string]string{
	"String": "text", "Integer": "a whole number", "Float": "a decimal number", "Bool": "true/false",
	"Array": "an array", "ArrayHash": "an array of tables", "Datetime": "a date/time",
}

var (
	badTypeRE  = regexp.MustCompile(`^incompatible types: TOML value has type (.+); destination has type (.+)$`)
	notTableRE = regexp.MustCompile(`^type mismatch for .*: expected table but found (.+)$`)
)

// typeMessage rewords the decoder's Go-flavoured type errors for people who
// write TOML, not Go.
func typeMessage(msg string) string {
	if m := badTypeRE.FindStringSubmatch(msg); m != nil {
		want := map[string]string{
			"string": "text in quotes", "integer": "a whole number", "slice": `an array such as ["enter"]`,
			"boolean": "true or false", "map": "a table", "float": "a number",
			"primitive (string-like)": "text in quotes",
		}[m[2]]
		if want == "" {
			want = m[2]
		}
		return fmt.Sprintf("expected %s, found %s", want, tomlTypeName(m[1]))
	}
	if m := notTableRE.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("expected a table, found %s", tomlTypeName(m[1]))
	}
	return msg
}

func tomlTypeName(goType string) string {
	switch {
	case goType == "string":
		return "text"
	case goType == "int64":
		return "a whole number"
	case goType == "float64":
		return "a decimal number"
	case goType == "bool":
		return "true/false"
	case strings.HasPrefix(goType, "[]map"):
		return "an array of tables"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "map"):
		return "a table"
	case strings.Contains(goType, "Time") || strings.Contains(goType, "Local"):
		return "a date/time"
	}
	return goType
}

// splitKey splits a key as MetaData prints it ("limits.alipay.single").
// Quoted segments are rare in these files; a split inside one only costs
// precision in the line found.
func splitKey(k string) []string {
	parts := strings.Split(k, ".")
	for i, s := range parts {
		parts[i] = strings.Trim(s, `"`)
	}
	return parts
}

// retiredTerminal and retiredServer are keys earlier versions read, each
// with where its setting went: an operator upgrading keeps the old file,
// and "unknown key" would not tell them what to do instead.
var (
	retiredTerminal = map[string]string{
		"terminal_id": "terminal_id: no longer set here: the terminal id comes from the terminal bundle (bundle = \"…\") that `posserver terminal add` issues",
		"pin_key":     "pin_key: no longer set here: the terminal's key comes from its bundle (bundle = \"…\")",
	}
	retiredServer = map[string]string{
		"terminals":  "terminals: no longer read from this file: terminals live in the database; register each with `posserver terminal add --merchant M --store S --id T001`",
		"merchant":   "merchant: no longer read from this file: a merchant is created with its first terminal (posserver terminal add --merchant ID --merchant-name NAME)",
		"bank.batch": "bank.batch: no longer read from this file: posserver keeps each terminal's batch in its database and opens the next one by itself",
	}
)

// checkKeys reports keys the file sets that the configuration does not have,
// and keys written in the wrong case, which the decoder accepts silently.
// A retired key is reported once, at its first line: the whole setting goes,
// so one message per [[terminals]] table would only repeat itself.
func checkKeys(p *problems, md toml.MetaData, root reflect.Type, retired map[string]string) {
	undecoded := map[string]bool{}
	for _, k := range md.Undecoded() {
		undecoded[k.String()] = true
	}
	reported, retiredSeen := map[string]bool{}, map[string]bool{}
	for _, k := range md.Undecoded() {
		ks := k.String()
		if reported[ks] || (len(k) > 1 && undecoded[toml.Key(k[:len(k)-1]).String()]) {
			continue // reported already, or inside an unknown table
		}
		reported[ks] = true
		if r := retiredPrefix(k, retired); r != "" {
			if !retiredSeen[r] {
				retiredSeen[r] = true
				p.addLine(firstLine(p.loc.loose[toml.Key(k[:strings.Count(r, ".")+1]).String()]), "%s", retired[r])
			}
			continue
		}
		name := k[len(k)-1]
		where := tableName(md, k[:len(k)-1])
		msg := fmt.Sprintf("unknown key %q%s", name, where)
		switch md.Type(k...) {
		case "Hash":
			msg = fmt.Sprintf("unknown table [%s]", ks)
		case "ArrayHash":
			msg = fmt.Sprintf("unknown table [[%s]]", ks)
		}
		if s := closest(name, setOf(knownKeys(root, k[:len(k)-1])...)); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		for _, line := range dedupe(p.loc.loose[ks]) {
			p.addLine(line, "%s", msg)
		}
		if len(p.loc.loose[ks]) == 0 {
			p.addLine(0, "%s", msg)
		}
	}
	for _, k := range md.Keys() {
		if undecoded[k.String()] {
			continue
		}
		if i, want := miscased(root, k); i >= 0 {
			segs := make([]any, 0, i+1)
			for _, s := range k[:i+1] {
				segs = append(segs, s)
			}
			p.at(segs, "key %q must be written %q (keys are case-sensitive)", k[i], want)
		}
	}
}

func tableName(md toml.MetaData, table []string) string {
	if len(table) == 0 {
		return ""
	}
	if md.Type(table...) == "ArrayHash" {
		return fmt.Sprintf(" in [[%s]]", toml.Key(table))
	}
	return fmt.Sprintf(" in [%s]", toml.Key(table))
}

// retiredPrefix returns the retired key that k is or lies inside, in
// lower case, or "". Retired keys are all top-level; looking at the first
// segment catches "merchant.id = …", whose implicit table "merchant"
// MetaData never lists.
func retiredPrefix(k toml.Key, retired map[string]string) string {
	for i := 1; i <= len(k); i++ {
		r := strings.ToLower(toml.Key(k[:i]).String())
		if _, ok := retired[r]; ok {
			return r
		}
	}
	return ""
}

func firstLine(lines []int) int {
	if len(lines) == 0 {
		return 0
	}
	return slices.Min(lines)
}

func dedupe(lines []int) []int {
	var out []int
	seen := map[int]bool{}
	for _, l := range lines {
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	return out
}

// walk follows a key path through the configuration types: struct fields by
// their toml tag, any map key, slice elements transparently.
func walk(t reflect.Type, path []string, visit func(i int, t reflect.Type) bool) reflect.Type {
	for i, name := range path {
		for t.Kind() == reflect.Slice || t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Map:
			t = t.Elem()
		case reflect.Struct:
			if !visit(i, t) {
				return nil
			}
			f, ok := fieldByTag(t, name)
			if !ok {
				return nil
			}
			t = f.Type
		default:
			return nil
		}
	}
	for t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Pointer) {
		t = t.Elem()
	}
	return t
}

func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if tag, _, _ := strings.Cut(f.Tag.Get("toml"), ","); tag == name && tag != "-" {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// knownKeys lists the keys the table at path may hold.
func knownKeys(root reflect.Type, table []string) []string {
	t := walk(root, table, func(int, reflect.Type) bool { return true })
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ","); tag != "" && tag != "-" {
			names = append(names, tag)
		}
	}
	return names
}

// miscased returns the index of the first segment of k that names a field
// only case-insensitively, and the field's real name; -1 if none.
func miscased(root reflect.Type, k toml.Key) (int, string) {
	at, want := -1, ""
	walk(root, k, func(i int, t reflect.Type) bool {
		if _, ok := fieldByTag(t, k[i]); ok {
			return true
		}
		for _, name := range knownKeys(t, nil) {
			if strings.EqualFold(name, k[i]) {
				at, want = i, name
			}
		}
		return false
	})
	return at, want
}
