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

// doctor is `pos doctor`: the installer's check of the chip card readers.
// It prints every PC/SC reader with its state and, for a card in one, the
// application and the masked card number read from it. It returns the
// exit status: 0 when it could list readers, 1 when pcscd is not running or
// there is no reader, 2 on bad arguments.
func doctor(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pos doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 20*time.Second, "give up reading the cards after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pos doctor: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	rep, err := pcsc.Doctor(ctx, emv.TerminalData{})
	if err != nil {
		fmt.Fprint(stderr, pcsc.ErrorText(err))
		return 1
	}
	fmt.Fprint(stdout, rep.Text())
	return 0
}
