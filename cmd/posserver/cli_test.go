package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/multipos/multipos/cmd/internal/cmdline"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds posserver once for the tests that run it as a user does.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "posserver-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "posserver")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	return binPath
}

// runBin runs the built posserver in dir and returns its exit status and
// what it printed.
func runBin(t *testing.T, dir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Dir = dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return code, out.String(), errOut.String()
}

// posserver alone used to start a server and write posserver.db and pki/
// (with the CA key) into whatever folder it was typed in: now it prints its
// help, lists every command, and leaves the folder as it was.
func TestNoCommandPrintsHelpAndWritesNothing(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{nil, {"--help"}, {"-h"}, {"help"}, {"help", "serve"}, {"serve", "--help"}, {"--version"}} {
		code, out, errOut := runBin(t, dir, args...)
		if code != 0 || errOut != "" {
			t.Errorf("posserver %q: exit %d, stderr %q", args, code, errOut)
		}
		if len(args) == 0 {
			for _, sub := range []string{"serve", "terminal", "limits", "keys", "migrate", "sandbox", "loadtest", "reconbench", "help"} {
				if !strings.Contains(out, "\n  "+sub+" ") {
					t.Errorf("posserver's help does not list %s:\n%s", sub, out)
				}
			}
		}
		if args != nil && args[0] == "--version" && !strings.HasPrefix(out, "posserver ") {
			t.Errorf("posserver --version said %q", out)
		}
	}
	if ents, err := os.ReadDir(dir); err != nil || len(ents) != 0 {
		t.Fatalf("posserver's help left %v in its folder (%v)", ents, err)
	}
}

// A wrong command line says what is wrong and where the help is, and exits
// 2; a command that fails exits 1.
func TestExitStatus(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"srve"}, 2, `unknown command "srve" for "posserver"`},
		{[]string{"serve", "--lisen", ":0"}, 2, "unknown flag: --lisen"},
		{[]string{"terminal", "frob"}, 2, `unknown command "frob" for "posserver terminal"`},
		{[]string{"terminal", "disable"}, 2, "Run 'posserver terminal disable --help' for usage."},
		{[]string{"limits", "set", "-terminal", "T1", "-channel", "bitcoin"}, 2, "--channel must be alipay, wechat or card"},
		{[]string{"migrate", "-config", "missing.toml"}, 1, "missing.toml"},
	} {
		code, _, errOut := runBin(t, dir, c.args...)
		if code != c.code || !strings.Contains(errOut, c.msg) {
			t.Errorf("posserver %q: exit %d, stderr:\n%s\nwant %d and %q", c.args, code, errOut, c.code, c.msg)
		}
	}
}

// Every command's help shows its own flags, in both spellings of asking.
func TestEveryCommandHelpShowsItsFlags(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		path := strings.Fields(c.CommandPath())[1:]
		for _, ask := range [][]string{append(append([]string{}, path...), "--help"), append([]string{"help"}, path...)} {
			var out, errOut bytes.Buffer
			if err := dispatch(context.Background(), ask, &out, &errOut, nil); err != nil {
				t.Errorf("posserver %q: %v", ask, err)
				continue
			}
			c.LocalFlags().VisitAll(func(f *pflag.Flag) {
				if !strings.Contains(out.String(), "--"+f.Name) {
					t.Errorf("posserver %q does not show --%s:\n%s", ask, f.Name, out.String())
				}
			})
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	root := newRoot(nil)
	walk(root)
	var serve *cobra.Command
	for _, c := range root.Commands() {
		if c.Name() == "serve" {
			serve = c
		}
	}
	if serve == nil || serve.LocalFlags().Lookup("ops-listen") == nil {
		t.Fatal("serve has no --ops-listen")
	}
}

// The flags scripts and the campaign pass Go's way, with one dash, still
// work; a usage error is a cmdline.UsageError.
func TestGoStyleFlags(t *testing.T) {
	t.Chdir(t.TempDir())
	out, err := cli(t, "terminal", "list", "-db", "go-style.db", "-merchant", "M1")
	if err != nil || !strings.Contains(out, "no terminals registered") {
		t.Fatalf("terminal list -db: %v\n%s", err, out)
	}
	if _, err := os.Stat("go-style.db"); err != nil {
		t.Fatalf("-db was not used: %v", err)
	}
	_, err = cli(t, "terminal", "list", "-nope")
	var usage cmdline.UsageError
	if !errors.As(err, &usage) {
		t.Fatalf("terminal list -nope: %v, want a usage error", err)
	}
}

// --ops-listen "" turns the operations endpoints off, as ops_listen = ""
// does (it used to leave the configured address in place).
func TestOpsListenOff(t *testing.T) {
	t.Chdir(t.TempDir())
	_, ops, _, stop := start(t, "--listen", "127.0.0.1:0", "--ops-listen", "", "--db", "ops.db")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if ops != "" {
		t.Fatalf("operations endpoints on %s", ops)
	}
}
