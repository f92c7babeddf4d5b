package config

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// builtinProfiles are the printer models most counters have: Chinese 58
// and 80 mm printers (Xprinter, SPRT, GPrinter and the like take GBK after
// FS &) and an 80 mm printer without a Chinese font.
var builtinProfiles = map[string]PrinterProfile{
	"58mm":           {Width: 32, Chinese: "fs", Cut: "none", Feed: 4},
	"80mm":           {Width: 48, Chinese: "fs", Cut: "partial", Feed: 4},
	"80mm-nochinese": {Width: 48, Chinese: "none", Cut: "partial", Feed: 4},
}

var printerKinds = []string{"none", "usb", "tcp", "file", "text"}

func validatePrinter(p *problems, pr *Printer) {
	switch pr.Kind {
	case "none":
	case "file", "text":
		if strings.TrimSpace(pr.Path) == "" {
			p.at(path("printer", "path"), `printer.path: required when kind is %q (a file or a device such as /dev/usb/lp0)`, pr.Kind)
		}
	case "tcp":
		if strings.TrimSpace(pr.Addr) == "" {
			p.at(path("printer", "addr"), `printer.addr: required when kind is "tcp" (the printer's address, e.g. "192.168.1.80:9100")`)
		}
	case "usb":
		if _, _, err := ParseUSBID(pr.USB); err != nil {
			p.at(path("printer", "usb"), "printer.usb: %v", err)
		}
	default:
		p.at(path("printer", "kind"), `printer.kind: %q is not a printer kind (use one of %s)`, pr.Kind, quoteList(printerKinds))
	}
	if pr.Width != 32 && pr.Width != 48 {
		p.at(path("printer", "width"), "printer.width: %d is not a paper width (use 32 for 58 mm paper or 48 for 80 mm)", pr.Width)
	}
	for _, name := range slices.Sorted(maps.Keys(pr.Profiles)) {
		pp := pr.Profiles[name]
		if pp.Chinese == "" {
			pp.Chinese = "fs"
		}
		if pp.Cut == "" {
			pp.Cut = "partial"
		}
		pr.Profiles[name] = pp
		validateProfile(p, path("printer", "profiles", name), pp)
	}
	if pr.Profile != "" {
		prof, ok := pr.lookup(pr.Profile)
		switch {
		case !ok:
			p.at(path("printer", "profile"), "printer.profile: %q is neither a built-in profile (%s) nor in [printer.profiles]", pr.Profile, quoteList(slices.Sorted(maps.Keys(builtinProfiles))))
		case prof.Width == 32 || prof.Width == 48:
			pr.Width = prof.Width // the model decides the paper
		}
	}
}

func validateProfile(p *problems, at []any, pp PrinterProfile) {
	name := fmt.Sprintf("printer.profiles.%v", at[len(at)-1])
	if pp.Width != 32 && pp.Width != 48 {
		p.at(append(at, "width"), "%s.width: %d is not a paper width (use 32 for 58 mm paper or 48 for 80 mm)", name, pp.Width)
	}
	switch pp.Chinese {
	case "fs", "always", "none":
	default:
		p.at(append(at, "chinese"), `%s.chinese: %q is not a Chinese mode (use "fs" for FS & / FS ., "always" or "none")`, name, pp.Chinese)
	}
	switch pp.Cut {
	case "partial", "full", "none":
	default:
		p.at(append(at, "cut"), `%s.cut: %q is not a cut (use "partial", "full" or "none")`, name, pp.Cut)
	}
	if pp.CodePage < 0 || pp.CodePage > 255 {
		p.at(append(at, "codepage"), "%s.codepage: %d is not a code page (0 to 255)", name, pp.CodePage)
	}
	if pp.Feed < 0 || pp.Feed > 20 {
		p.at(append(at, "feed"), "%s.feed: %d lines is not a feed (0 to 20)", name, pp.Feed)
	}
	if pp.Drawer != 0 && pp.Drawer != 2 && pp.Drawer != 5 {
		p.at(append(at, "drawer"), "%s.drawer: %d is not a drawer pin (use 2 or 5, or 0 for none)", name, pp.Drawer)
	}
	if pp.QRSize < 0 || pp.QRSize > 16 {
		p.at(append(at, "qr_size"), "%s.qr_size: %d is not a QR module size (1 to 16, or 0 for the default)", name, pp.QRSize)
	}
}

func (pr Printer) lookup(name string) (PrinterProfile, bool) {
	if pp, ok := pr.Profiles[name]; ok {
		return pp, true
	}
	pp, ok := builtinProfiles[name]
	return pp, ok
}

// Model is the printer model's settings: the named profile, else the
// built-in one for the paper width. The station's printer code turns it
// into the receipts.Profile receipts are rendered with; config holds
// settings only and links no receipt rendering (posserver reads it too).
func (pr Printer) Model() PrinterProfile {
	pp, ok := pr.lookup(pr.Profile)
	if !ok {
		pp = builtinProfiles["58mm"]
		if pr.Width == 48 {
			pp = builtinProfiles["80mm"]
		}
	}
	return pp
}

// Detach says whether to detach the kernel's usblp driver (default yes:
// on Linux usblp binds every printer-class interface).
func (pr Printer) Detach() bool { return pr.USBDetach == nil || *pr.USBDetach }

// ParseUSBID reads "VID:PID" in hex; "" is 0:0, any printer.
func ParseUSBID(s string) (vid, pid uint16, err error) {
	if strings.TrimSpace(s) == "" {
		return 0, 0, nil
	}
	v, pr, ok := strings.Cut(strings.TrimSpace(s), ":")
	a, err1 := strconv.ParseUint(v, 16, 16)
	b, err2 := strconv.ParseUint(pr, 16, 16)
	if !ok || err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf(`%q is not a USB id (use "VID:PID" in hex, as lsusb shows it, e.g. "0416:5011")`, s)
	}
	return uint16(a), uint16(b), nil
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}
