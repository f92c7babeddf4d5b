package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/devices"
	"github.com/multipos/multipos/devices/fileprinter"
	"github.com/multipos/multipos/devices/printer"
	"github.com/multipos/multipos/receipts"
	"github.com/multipos/multipos/receipts/escpos"
)

// receiptProfile is the configured printer model as receipts are rendered
// for it. config holds the settings; turning them into a receipts.Profile
// is the printer code's, so that config (which posserver reads too) links
// no receipt rendering.
func receiptProfile(c config.Printer) receipts.Profile {
	pp := c.Model()
	return receipts.Profile{
		Width: pp.Width, Chinese: escpos.Chinese(pp.Chinese), CodePage: pp.CodePage,
		Cut: escpos.Cut(pp.Cut), Feed: pp.Feed, DrawerPin: pp.Drawer, QRSize: pp.QRSize,
	}
}

// openPrinter builds the configured printer; nil for kind "none". Nothing
// is dialled or opened yet: a printer that is off when the app starts is
// found when it comes on.
func openPrinter(c config.Printer) (devices.Printer, error) {
	prof := receiptProfile(c)
	switch c.Kind {
	case "none", "":
		return nil, nil
	case "text":
		return fileprinter.New(c.Path, c.Width), nil
	case "file":
		path := c.Path
		return printer.New(path, func(context.Context) (printer.Link, error) { return printer.OpenFile(path) }, prof), nil
	case "tcp":
		addr := c.Addr
		return printer.New("tcp "+addr, func(ctx context.Context) (printer.Link, error) { return printer.DialTCP(ctx, addr) }, prof), nil
	case "usb":
		vid, pid, err := config.ParseUSBID(c.USB)
		if err != nil {
			return nil, err
		}
		o := printer.USBOptions{VID: vid, PID: pid, AutoDetach: c.Detach()}
		name := "usb"
		if vid != 0 || pid != 0 {
			name = fmt.Sprintf("usb %04x:%04x", vid, pid)
		}
		return printer.New(name, func(ctx context.Context) (printer.Link, error) { return printer.OpenUSB(ctx, o) }, prof), nil
	}
	return nil, fmt.Errorf("printer.kind %q is not a printer kind", c.Kind)
}

var stateText = map[devices.PrinterState]string{
	devices.PrinterReady:     "就绪 ready",
	devices.PrinterPaperLow:  "纸将尽 paper low",
	devices.PrinterPaperOut:  "缺纸 paper out",
	devices.PrinterCoverOpen: "开盖 cover open",
	devices.PrinterOffline:   "离线 offline",
}

// printerReport writes the printers section of `pos doctor`: the
// configured printer with its status, then every USB printer on the bus and
// every usblp device file, so an installer sees what to put in pos.toml.
// With test set it prints a test page on the configured printer and shows
// the page as the printer was sent it. It returns false when the
// configured printer is not ready or the test page failed.
func printerReport(ctx context.Context, c config.Printer, test bool, w io.Writer) bool {
	ok := true
	fmt.Fprintln(w, "打印机 Printers:")
	p, err := openPrinter(c)
	switch {
	case err != nil:
		fmt.Fprintf(w, "  配置 configured: %v\n", err)
		ok = false
	case p == nil:
		fmt.Fprintln(w, "  配置 configured: 无 none (printer.kind = \"none\": receipts on screen only)")
	default:
		prof := receiptProfile(c)
		fmt.Fprintf(w, "  配置 configured: %s (%s, %d columns, chinese=%s, cut=%s)\n", p.Name(), c.Kind, prof.Width, prof.Chinese, prof.Cut)
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		st, err := p.Status(sctx)
		cancel()
		line := "    状态 status: " + stateText[st]
		if ep, isESC := p.(*printer.Printer); isESC && err == nil && !ep.Answers() {
			line += " (不回答状态查询 does not answer DLE EOT: status unknown)"
		}
		if err != nil {
			line += " — " + err.Error()
			ok = false
		}
		fmt.Fprintln(w, line)
		if test && err == nil {
			ok = testPage(ctx, p, c, w) && ok
		}
		if closer, isCloser := p.(io.Closer); isCloser {
			closer.Close()
		}
	}
	if test && (p == nil || err != nil) {
		fmt.Fprintln(w, "  测试页未打印 test page not printed: no printer ready")
		ok = false
	}
	devs, err := printer.ListUSB(ctx)
	switch {
	case err != nil:
		fmt.Fprintf(w, "  USB: %v\n", err)
	case len(devs) == 0:
		fmt.Fprintln(w, "  USB: 未发现打印机 no USB printer found")
	}
	for _, d := range devs {
		way := "单向 one-way"
		if d.Bidirectional {
			way = "双向 two-way (status)"
		}
		fmt.Fprintf(w, "  USB %04x:%04x bus %d device %d: %s %s %s, %s — usb = \"%04x:%04x\"\n",
			d.VID, d.PID, d.Bus, d.Address, d.Manufacturer, d.Product, d.Serial, way, d.VID, d.PID)
	}
	files, _ := filepath.Glob("/dev/usb/lp*")
	for _, f := range files {
		fmt.Fprintf(w, "  设备文件 device file: %s — kind = \"file\", path = %q\n", f, f)
	}
	return ok
}

// testPage prints the test page and shows what was sent, decoded.
func testPage(ctx context.Context, p devices.Printer, c config.Printer, w io.Writer) bool {
	ep, ok := p.(*printer.Printer)
	if !ok {
		r := receipts.Receipt{Channel: "TEST", MerchantName: "multipos PRINT TEST", Time: time.Now()}
		if _, err := p.Print(ctx, r); err != nil {
			fmt.Fprintf(w, "  测试页失败 test page failed: %v\n", err)
			return false
		}
		fmt.Fprintln(w, "  测试页已打印 test page printed")
		return true
	}
	page := receipts.TestPage(ep.Profile(), ep.Name(), time.Now())
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := ep.PrintBytes(pctx, page, nil); err != nil {
		fmt.Fprintf(w, "  测试页失败 test page failed: %v\n", err)
		return false
	}
	fmt.Fprintf(w, "  测试页已打印 test page printed: %d bytes in %v. It should read:\n", len(page), time.Since(start).Round(time.Millisecond))
	d := escpos.Decode(page, ep.Profile().Chinese)
	for _, l := range strings.Split(strings.TrimSuffix(d.String(), "\n"), "\n") {
		fmt.Fprintln(w, "    | "+l)
	}
	return true
}
