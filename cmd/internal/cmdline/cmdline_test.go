package cmdline

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// tree is a root with a group of one leaf, as posserver's terminal add.
func tree(ran *[]string) *cobra.Command {
	leaf := &cobra.Command{Use: "add", Args: Args(cobra.NoArgs), RunE: func(cmd *cobra.Command, _ []string) error {
		id, _ := cmd.Flags().GetString("id")
		*ran = append(*ran, "add "+id)
		return nil
	}}
	leaf.Flags().String("id", "", "terminal id")
	leaf.Flags().Bool("demo", false, "training")
	fail := &cobra.Command{Use: "fail", RunE: func(*cobra.Command, []string) error { return errors.New("it broke") }}
	exit := &cobra.Command{Use: "exit", RunE: func(*cobra.Command, []string) error { return ExitError{Code: 1} }}
	return Group(&cobra.Command{Use: "tool"}, Group(&cobra.Command{Use: "terminal"}, leaf), fail, exit)
}

func TestExitStatus(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		out  string // in stdout
		err  string // in stderr
	}{
		{nil, 0, "Available Commands", ""},
		{[]string{"--help"}, 0, "terminal", ""},
		{[]string{"-h"}, 0, "terminal", ""},
		{[]string{"help", "terminal", "add"}, 0, "--id string", ""},
		{[]string{"terminal", "add", "--help"}, 0, "--demo", ""},
		{[]string{"terminal"}, 0, "add", ""},
		{[]string{"--version"}, 0, "tool ", ""},
		{[]string{"terminal", "add", "--id", "T1"}, 0, "", ""},
		{[]string{"frob"}, 2, "", `unknown command "frob" for "tool"` + "\nRun 'tool --help' for usage."},
		{[]string{"terminal", "frob"}, 2, "", `unknown command "frob" for "tool terminal"` + "\nRun 'tool terminal --help' for usage."},
		{[]string{"terminal", "add", "--nope"}, 2, "", "unknown flag: --nope\nRun 'tool terminal add --help' for usage."},
		{[]string{"terminal", "add", "extra"}, 2, "", "Run 'tool terminal add --help' for usage."},
		{[]string{"fail"}, 1, "", "tool: it broke\n"},
		{[]string{"exit"}, 1, "", ""},
	} {
		var ran []string
		var out, errOut bytes.Buffer
		code := Main(context.Background(), tree(&ran), c.args, &out, &errOut)
		if code != c.code || !strings.Contains(out.String(), c.out) || !strings.Contains(errOut.String(), c.err) {
			t.Errorf("tool %q: exit %d, stdout:\n%s\nstderr:\n%s\nwant exit %d, %q in stdout, %q in stderr",
				c.args, code, out.String(), errOut.String(), c.code, c.out, c.err)
		}
		if c.code == 0 && c.err == "" && c.out == "" && !slices.Equal(ran, []string{"add T1"}) {
			t.Errorf("tool %q ran %q", c.args, ran)
		}
		if c.args != nil && c.args[0] == "exit" && errOut.Len() != 0 {
			t.Errorf("an ExitError printed %q", errOut.String())
		}
	}
}

// Scripts, the campaign and older notes write flags Go's way (-db x):
// every long flag the tree knows is read so, values and "--" left alone.
func TestGoStyleFlags(t *testing.T) {
	var ran []string
	root := tree(&ran)
	got := goFlags(root, []string{"terminal", "add", "-id", "-x", "-demo=true", "-h", "--id", "x", "-nope", "--", "-id"})
	want := []string{"terminal", "add", "--id", "-x", "--demo=true", "-h", "--id", "x", "-nope", "--", "-id"}
	if !slices.Equal(got, want) {
		t.Fatalf("goFlags = %q, want %q", got, want)
	}
	// A value spelled like a flag is a value: --id -demo names terminal "-demo".
	got = goFlags(root, []string{"terminal", "add", "-id", "-demo", "-demo", "--id", "-id", "--id=-demo"})
	want = []string{"terminal", "add", "--id", "-demo", "--demo", "--id", "-id", "--id=-demo"}
	if !slices.Equal(got, want) {
		t.Fatalf("goFlags = %q, want %q", got, want)
	}
	var out, errOut bytes.Buffer
	if code := Main(context.Background(), tree(&ran), []string{"terminal", "add", "-id", "T9", "-demo"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !slices.Equal(ran, []string{"add T9"}) {
		t.Fatalf("ran %q", ran)
	}
}

func TestVersionStamped(t *testing.T) {
	defer func(v string) { version = v }(version)
	version = "v1.2.3-4-gabcdef"
	if Version() != version {
		t.Fatalf("Version() = %q", Version())
	}
	version = ""
	if Version() == "" {
		t.Fatal("no version without a stamp")
	}
}
