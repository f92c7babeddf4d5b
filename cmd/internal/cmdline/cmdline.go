// Package cmdline is what the pos and posserver commands share around cobra:
// the version both print, the exit statuses (0 done or help, 1 failed,
// 2 a command line that is wrong), Go-style single-dash long flags (-db,
// -config) that scripts and older notes use, and commands that only group
// others.
package cmdline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// version is set by the Makefile's build (-ldflags -X …/cmdline.version=…)
// from `git describe`; a build without it reports the module's version.
var version string

// Version is the binary's version: the one the build was stamped with, else
// the module version Go recorded ("(devel)" in a checkout) with the commit
// when Go knows it.
func Version() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v
}

// UsageError is a command line that is wrong (an unknown command or flag, a
// missing or extra argument): the command exits 2 and points at its help.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// Usagef makes a UsageError.
func Usagef(format string, a ...any) error {
	return UsageError{fmt.Errorf(format, a...)}
}

// ExitError ends the command with Code and no further message (what went
// wrong was printed already), as `pos doctor` does when a device is not ready.
type ExitError struct{ Code int }

func (e ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// Args wraps a cobra argument check so that its refusal is a UsageError.
func Args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return UsageError{err}
		}
		return nil
	}
}

// Group makes cmd a command that only groups its subcommands: alone it
// prints its help, with an unknown subcommand it is a usage error (cobra
// would print the help and succeed).
func Group(cmd *cobra.Command, subs ...*cobra.Command) *cobra.Command {
	cmd.AddCommand(subs...)
	cmd.Args = cobra.ArbitraryArgs
	cmd.DisableFlagsInUseLine = true // "posserver terminal", not "… [flags]"
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if len(args) > 0 {
			return Usagef("unknown command %q for %q", args[0], c.CommandPath())
		}
		return c.Help()
	}
	return cmd
}

// Main runs root with args as main does and returns the exit status.
func Main(ctx context.Context, root *cobra.Command, args []string, stdout, stderr io.Writer) int {
	cmd, err := Run(ctx, root, args, stdout, stderr)
	return Report(cmd, err, stderr)
}

// Run runs root with args, writing to stdout and stderr, and returns the
// command that ran and its error; a wrong command line is a UsageError.
func Run(ctx context.Context, root *cobra.Command, args []string, stdout, stderr io.Writer) (*cobra.Command, error) {
	prepare(root, stdout, stderr)
	root.SetArgs(goFlags(root, args))
	cmd, err := root.ExecuteContextC(ctx)
	if err != nil && isCobraUsage(err) {
		err = UsageError{err}
	}
	return cmd, err
}

// Report prints err and returns the exit status: 0 when there is none,
// 2 for a usage error (with where the help is), else 1 (or an ExitError's).
func Report(cmd *cobra.Command, err error, stderr io.Writer) int {
	var exit ExitError
	var usage UsageError
	name := cmd.Root().Name()
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.Code
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "%s: %v\nRun '%s --help' for usage.\n", name, err, cmd.CommandPath())
		return 2
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	return 1
}

// prepare sets what every command of the tree shares.
func prepare(root *cobra.Command, stdout, stderr io.Writer) {
	root.Version = Version()
	root.SetVersionTemplate("{{.Name}} {{.Version}}\n")
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SilenceErrors = true
	root.SilenceUsage = true
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return UsageError{err} })
}

// isCobraUsage tells the errors cobra makes itself for a wrong command line
// (it has no type for them).
func isCobraUsage(err error) bool {
	s := err.Error()
	return strings.HasPrefix(s, "unknown command") || strings.HasPrefix(s, "unknown flag") ||
		strings.HasPrefix(s, "unknown shorthand flag")
}

// goFlags rewrites Go-style long flags (-db x, -config=f) as pflag's
// (--db x): every name a command of the tree knows, up to a "--". The
// value of a flag that takes one is left as it is, even when it is
// spelled like a flag (--merchant-name -store).
func goFlags(root *cobra.Command, args []string) []string {
	takesValue := map[string]bool{"help": false, "version": false} // name → whether it takes a value
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.LocalFlags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) { takesValue[f.Name] = takesValue[f.Name] || f.NoOptDefVal == "" })
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	out := make([]string, len(args))
	value := false // args[i] is the value of the flag before it
	for i, a := range args {
		if a == "--" && !value {
			copy(out[i:], args[i:])
			break
		}
		if value {
			out[i], value = a, false
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		takes, known := takesValue[name]
		if known && len(a) > 2 && a[0] == '-' && a[1] != '-' {
			a = "-" + a
		}
		value = known && strings.HasPrefix(a, "--") && takes && !hasValue
		out[i] = a
	}
	return out
}
