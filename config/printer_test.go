package config

import (
	"testing"

	"github.com/multipos/multipos/receipts"
	"github.com/multipos/multipos/receipts/escpos"
)

func TestPrinterProfiles(t *testing.T) {
	v, msg := load(t, "pos.toml", `
[printer]
kind = "usb"
usb = "0416:5011"
usb_detach = false
profile = "counter"
[printer.profiles.counter]
width = 48
chinese = "always"
drawer = 5
`)
	if msg != "" {
		t.Fatal(msg)
	}
	pr := v.(Terminal).Printer
	want := receipts.Profile{Width: 48, Chinese: escpos.ChineseAlways, Cut: escpos.CutPartial, DrawerPin: 5}
	if got := pr.ReceiptProfile(); got != want || pr.Width != 48 || pr.Detach() {
		t.Errorf("profile %+v, width %d, detach %v", got, pr.Width, pr.Detach())
	}
	if vid, pid, err := ParseUSBID(pr.USB); vid != 0x0416 || pid != 0x5011 || err != nil {
		t.Errorf("usb id %04x:%04x %v", vid, pid, err)
	}
	// Without a profile the paper width picks a built-in one.
	d := DefaultTerminal().Printer
	if got := d.ReceiptProfile(); got.Width != 32 || got.Chinese != escpos.ChineseFS || got.Cut != escpos.CutNone || !d.Detach() {
		t.Errorf("default profile %+v", got)
	}
	d.Width = 48
	if got := d.ReceiptProfile(); got.Width != 48 || got.Cut != escpos.CutPartial {
		t.Errorf("80 mm default profile %+v", got)
	}
}
