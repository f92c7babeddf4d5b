package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/multipos/multipos/cards/emv"
	"github.com/multipos/multipos/cmd/internal/cmdline"
	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/devices/pcsc"
)

// doctorCmd is `pos doctor`: the installer's check of the station's
// devices. It prints every PC/SC reader with its state and, for a card in
// one, the application and the masked card number read from it; then the
// printers: the configured one with its status, and those found on USB and
// as device files; with --print-test it prints a test page. It exits 0
// when all is well, 1 when pcscd is not running, there is no reader or the
// configured printer is not ready, 2 on a wrong command line.
func doctorCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the card reader and the printers (for whoever installs the station)",
		Long: `doctor checks the station's devices: every PC/SC card reader with its state
and, for a card in one, the application and the masked card number read from
it; then the configured printer with its status, and the printers found on
USB and as device files, to put in pos.toml. With --print-test it prints a
test page. It exits 0 when all is well, 1 when pcscd is not running, there
is no reader or the configured printer is not ready.`,
		Args: cmdline.Args(cobra.NoArgs),
	}
	timeout := cmd.Flags().Duration("timeout", 20*time.Second, "give up reading the cards after this long")
	cfgPath := cmd.Flags().String("config", "", "pos.toml (default: the user's, else the defaults)")
	test := cmd.Flags().Bool("print-test", false, "print a test page on the configured printer")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := loadConfig(*cfgPath)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), *timeout)
		defer cancel()
		if !checkDevices(ctx, cfg, *test, cmd.OutOrStdout(), cmd.ErrOrStderr()) {
			return cmdline.ExitError{Code: 1}
		}
		return nil
	}
	return cmd
}

// doctor runs `pos doctor` with args and returns its exit status.
func doctor(args []string, stdout, stderr io.Writer) int {
	return cmdline.Main(context.Background(), newRoot(), append([]string{"doctor"}, args...), stdout, stderr)
}

// checkDevices writes the report of the reader (when it is PC/SC) and the
// printers, and says whether all is well.
func checkDevices(ctx context.Context, cfg config.Terminal, test bool, stdout, stderr io.Writer) bool {
	ok := true
	if cfg.Reader.Kind == "pcsc" {
		rep, err := pcsc.Doctor(ctx, emv.TerminalData{})
		if err != nil {
			fmt.Fprint(stderr, pcsc.ErrorText(err))
			ok = false
		} else {
			fmt.Fprint(stdout, rep.Text())
		}
	}
	// Not ctx: the printers get their own time, after the cards had theirs.
	return printerReport(context.Background(), cfg.Printer, test, stdout) && ok
}
