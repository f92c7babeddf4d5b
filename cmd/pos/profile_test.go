package main

import (
	"testing"

	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/receipts"
	"github.com/multipos/multipos/receipts/escpos"
)

// The printer model's settings from pos.toml reach the receipt renderer
// whole: each setting of a profile, and the built-in profile by width.
func TestReceiptProfileFromConfig(t *testing.T) {
	cfg, err := config.LoadTerminal(printerConfig(t, `kind = "file"
path = "/dev/null"
profile = "counter"
[printer.profiles.counter]
width = 48
chinese = "always"
codepage = 17
cut = "full"
feed = 6
drawer = 5
qr_size = 8
`))
	if err != nil {
		t.Fatal(err)
	}
	want := receipts.Profile{Width: 48, Chinese: escpos.ChineseAlways, CodePage: 17, Cut: escpos.CutFull, Feed: 6, DrawerPin: 5, QRSize: 8}
	if got := receiptProfile(cfg.Printer); got != want {
		t.Errorf("profile %+v, want %+v", got, want)
	}
	d := config.DefaultTerminal().Printer
	if got := receiptProfile(d); got.Width != 32 || got.Chinese != escpos.ChineseFS || got.Cut != escpos.CutNone {
		t.Errorf("default profile %+v", got)
	}
	d.Width = 48
	if got := receiptProfile(d); got.Width != 48 || got.Chinese != escpos.ChineseFS || got.Cut != escpos.CutPartial {
		t.Errorf("80 mm default profile %+v", got)
	}
}
