package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A broken file must give an error naming the file and a line that exists,
// never a panic or a value alongside an error.
func FuzzLoadTerminal(f *testing.F) {
	if ex, err := os.ReadFile("pos.example.toml"); err == nil {
		f.Add(string(ex))
	}
	if ex, err := os.ReadFile("posserver.example.toml"); err == nil {
		f.Add(string(ex))
	}
	testdata, _ := filepath.Glob(filepath.Join("testdata", "*.toml"))
	for _, name := range testdata {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(string(b))
		}
	}
	for _, c := range terminalErrors {
		f.Add(c.text)
	}
	for _, c := range serverErrors {
		f.Add(c.text)
	}
	f.Add("[[keys]]\n[keys.x]\n")
	f.Add("a = '''\n[keys]\n'''\n[keys]\nconfirm = [\"\"]\n")
	f.Add("keys = { confirm = [ { a = 1 } ] }\n")
	f.Add("merchant.id = 1\n[[terminals]]\n[terminals.x]\nMerchant = 2\n")
	f.Add("hosts = [\"\", \"::1\"]\npublic_url = \"https://[::1]:8443\"\ndb = \"postgres://u:p@[::1\"\n")
	f.Fuzz(func(t *testing.T, text string) {
		for _, file := range []string{"/x/pos.toml", "/x/posserver.toml"} {
			var err error
			if strings.HasSuffix(file, "server.toml") {
				_, err = parseServer(file, text)
			} else {
				_, err = parseTerminal(file, text)
			}
			if err == nil {
				continue
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("%q: error %v is not a *config.Error", text, err)
			}
			lines := strings.Count(text, "\n") + 1
			for _, msg := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(msg, file+":") && !strings.HasPrefix(msg, "config "+file+": ") {
					t.Fatalf("%q: message %q does not name the file", text, msg)
				}
			}
			if ce.Line < 0 || ce.Line > lines {
				t.Fatalf("%q: line %d outside the file's %d lines", text, ce.Line, lines)
			}
		}
	})
}
