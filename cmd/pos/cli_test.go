package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/multipos/multipos/cmd/internal/cmdline"
)

// pos --help used to exit 2 with an error and never mention pos doctor.
func TestHelpAndVersion(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"pos doctor", "--demo", "--lang", "--config", "doctor ", "--version"}},
		{[]string{"-h"}, []string{"pos doctor"}},
		{[]string{"help"}, []string{"pos doctor"}},
		{[]string{"help", "doctor"}, []string{"--print-test", "--timeout", "--config"}},
		{[]string{"doctor", "--help"}, []string{"--print-test"}},
		{[]string{"--version"}, []string{"pos "}},
	} {
		var out, errOut bytes.Buffer
		if code := cmdline.Main(context.Background(), newRoot(), c.args, &out, &errOut); code != 0 || errOut.Len() > 0 {
			t.Errorf("pos %q: exit %d, stderr %q", c.args, code, errOut.String())
		}
		for _, w := range c.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("pos %q does not say %q:\n%s", c.args, w, out.String())
			}
		}
	}
}

// A wrong command line exits 2 and says where the help is; the flags keep
// their Go-style spelling (-demo), which reaches the app (here refused for
// want of a terminal: exit 1).
func TestCommandLineErrors(t *testing.T) {
	// Not a terminal, even when go test runs in one.
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	stdin := os.Stdin
	os.Stdin = null
	defer func() { os.Stdin = stdin }()
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"frob"}, 2, "unknown command \"frob\" for \"pos\"\nRun 'pos --help' for usage."},
		{[]string{"--demoo"}, 2, "unknown flag: --demoo"},
		{[]string{"--lang", "fr"}, 2, "--lang"},
		{[]string{"-demo"}, 1, "needs a terminal"},
		{[]string{"-lang", "en", "-demo"}, 1, "needs a terminal"},
	} {
		var out, errOut bytes.Buffer
		code := cmdline.Main(context.Background(), newRoot(), c.args, &out, &errOut)
		if code != c.code || !strings.Contains(errOut.String(), c.msg) {
			t.Errorf("pos %q: exit %d, stderr:\n%s\nwant %d and %q", c.args, code, errOut.String(), c.code, c.msg)
		}
	}
}
