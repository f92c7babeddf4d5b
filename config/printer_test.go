package config

import (
	"testing"
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
	want := PrinterProfile{Width: 48, Chinese: "always", Cut: "partial", Drawer: 5}
	if got := pr.Model(); got != want || pr.Width != 48 || pr.Detach() {
		t.Errorf("profile %+v, width %d, detach %v", got, pr.Width, pr.Detach())
	}
	if vid, pid, err := ParseUSBID(pr.USB); vid != 0x0416 || pid != 0x5011 || err != nil {
		t.Errorf("usb id %04x:%04x %v", vid, pid, err)
	}
	// Without a profile the paper width picks a built-in one.
	d := DefaultTerminal().Printer
	if got := d.Model(); got.Width != 32 || got.Chinese != "fs" || got.Cut != "none" || !d.Detach() {
		t.Errorf("default profile %+v", got)
	}
	d.Width = 48
	if got := d.Model(); got.Width != 48 || got.Cut != "partial" {
		t.Errorf("80 mm default profile %+v", got)
	}
}
