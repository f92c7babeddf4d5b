package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/multipos/multipos/cards/emv"
	"github.com/multipos/multipos/devices/pcsc"
)

// doctor is `pos doctor`: the installer's check of the station's devices.
// It prints every PC/SC reader with its state and, for a card in one, the
// application and the masked card number read from it; then the printers:
// the configured one with its status, and those found on USB and as device
// files; with --print-test it prints a test page. It returns the exit
// status: 0 when all is well, 1 when pcscd is not running, there is no
// reader or the configured printer is not ready, 2 on bad arguments.
func doctor(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pos doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 20*time.Second, "give up reading the cards after this long")
	cfgPath := fs.String("config", "", "pos.toml (default: the user's, else the defaults)")
	test := fs.Bool("print-test", false, "print a test page on the configured printer")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pos doctor: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	code := 0
	if cfg.Reader.Kind == "pcsc" {
		rep, err := pcsc.Doctor(ctx, emv.TerminalData{})
		if err != nil {
			fmt.Fprint(stderr, pcsc.ErrorText(err))
			code = 1
		} else {
			fmt.Fprint(stdout, rep.Text())
		}
	}
	if !printerReport(context.Background(), cfg.Printer, *test, stdout) {
		code = 1
	}
	return code
}
