//go:build cgo

package printer

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/multipos/multipos/devices"
)

// The USB tests need a device, and CI has no kernel USB at all, so they run
// against umockdev: TestUSBUmockdev writes a fake sysfs device plus a usbfs
// ioctl script, then re-runs this test binary under umockdev-run (which
// LD_PRELOADs its fake /sys and /dev). In that child, TestUSBUmockdevChild
// does real gousb/libusb work on the fake bus; the env var names which
// scenario it runs. A scripted bulk OUT transfer only succeeds when its
// bytes match the script exactly, which is what makes the write check bite.

const (
	usbTestScenarioEnv = "MULTIPOS_USB_UMOCKDEV_SCENARIO"
	usbTestOKMarker    = "usb-umockdev-child-ok:"
	usbTestVID         = 0x0416
	usbTestPID         = 0x5011
	usbTestNode        = "/dev/bus/usb/001/002"
	usbTestOutEP       = 0x03
	usbTestInEP        = 0x81
	usbTestInPacket    = 64
)

// usbTestDescriptors is the printer as the kernel exposes it in sysfs
// "descriptors": a device whose class lives on its interface (as on most
// 58 mm ESC/POS printers), one bidirectional printer interface, bulk OUT
// 0x03 and bulk IN 0x81, 64-byte packets.
var usbTestDescriptors = []byte{
	// device: USB 2.0, class per interface, ep0 64, 0416:5011, bcd 1.00,
	// strings 1/2/3, one configuration
	0x12, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x40,
	0x16, 0x04, 0x11, 0x50, 0x00, 0x01, 0x01, 0x02, 0x03, 0x01,
	// configuration 1: total 32 bytes, one interface, self-powered, 100 mA
	0x09, 0x02, 0x20, 0x00, 0x01, 0x01, 0x00, 0xc0, 0x32,
	// interface 0 alt 0: two endpoints, class 7 printer, subclass 1,
	// protocol 2 (bidirectional)
	0x09, 0x04, 0x00, 0x00, 0x02, 0x07, 0x01, 0x02, 0x00,
	// endpoint 0x03 bulk OUT, 64 bytes
	0x07, 0x05, usbTestOutEP, 0x02, usbTestInPacket, 0x00, 0x00,
	// endpoint 0x81 bulk IN, 64 bytes
	0x07, 0x05, usbTestInEP, 0x02, usbTestInPacket, 0x00, 0x00,
}

// usbTestKeyboard is a HID keyboard on the same bus, so that listing and
// "first printer" selection have something to leave out.
var usbTestKeyboard = []byte{
	0x12, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x08,
	0x6d, 0x04, 0x1c, 0xc3, 0x00, 0x01, 0x01, 0x02, 0x00, 0x01,
	0x09, 0x02, 0x22, 0x00, 0x01, 0x01, 0x00, 0xa0, 0x32,
	0x09, 0x04, 0x00, 0x00, 0x01, 0x03, 0x01, 0x01, 0x00,
	0x09, 0x21, 0x10, 0x01, 0x00, 0x01, 0x22, 0x41, 0x00,
	0x07, 0x05, 0x81, 0x03, 0x08, 0x00, 0x0a,
}

func usbTestDevice(sysPath, node string, vid, pid uint16, devnum int, desc []byte, strs [3]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "P: %s\n", sysPath)
	fmt.Fprintf(&b, "N: %s\n", strings.TrimPrefix(node, "/dev/"))
	fmt.Fprintf(&b, "E: SUBSYSTEM=usb\nE: DEVTYPE=usb_device\nE: DRIVER=usb\n")
	fmt.Fprintf(&b, "E: DEVNAME=%s\nE: BUSNUM=001\nE: DEVNUM=%03d\n", node, devnum)
	fmt.Fprintf(&b, "E: PRODUCT=%x/%x/100\nE: MAJOR=189\nE: MINOR=%d\n", vid, pid, devnum-1)
	fmt.Fprintf(&b, "A: busnum=1\\n\nA: devnum=%d\\n\nA: dev=189:%d\\n\n", devnum, devnum-1)
	fmt.Fprintf(&b, "A: idVendor=%04x\\n\nA: idProduct=%04x\\n\n", vid, pid)
	fmt.Fprintf(&b, "A: bConfigurationValue=1\\n\nA: bNumConfigurations=1\\n\nA: speed=12\\n\n")
	fmt.Fprintf(&b, "A: manufacturer=%s\\n\nA: product=%s\\n\n", strs[0], strs[1])
	if strs[2] != "" {
		fmt.Fprintf(&b, "A: serial=%s\\n\n", strs[2])
	}
	fmt.Fprintf(&b, "H: descriptors=%X\n\n", desc)
	return b.String()
}

// usbTestBus is the .umockdev description of the fake bus.
func usbTestBus() string {
	return usbTestDevice("/devices/pci0000:00/0000:00:14.0/usb1/1-1", usbTestNode,
		usbTestVID, usbTestPID, 2, usbTestDescriptors,
		[3]string{"Winbond", "POS58 Printer", "SN0001"}) +
		usbTestDevice("/devices/pci0000:00/0000:00:14.0/usb1/1-2", "/dev/bus/usb/001/003",
			0x046d, 0xc31c, 3, usbTestKeyboard, [3]string{"Logitech", "Keyboard", ""})
}

// usbTestOut is an ioctl script line accepting one bulk OUT URB with
// exactly these bytes.
func usbTestOut(p []byte) string {
	return fmt.Sprintf("USBDEVFS_REAPURBNDELAY 0 3 %d 0 0 %d %d 0 %X\n", usbTestOutEP, len(p), len(p), p)
}

// usbTestIn is an ioctl script line answering one bulk IN URB (of the
// packet-sized buffer the link submits) with these bytes.
func usbTestIn(p []byte) string {
	return fmt.Sprintf("USBDEVFS_REAPURBNDELAY 0 3 %d 0 0 %d %d 0 %X\n", usbTestInEP, usbTestInPacket, len(p), p)
}

// usbTestIdle is the script of scenarios that move no data. umockdev
// aborts the child at libusb_open when the script has no URB record, so it
// holds one (a single zero byte to the OUT endpoint) that nothing sends.
const usbTestIdle = "USBDEVFS_REAPURBNDELAY 0 3 3 0 0 1 1 0 00\n"

// usbTestReceipt is a short Chinese receipt as a 58 mm printer in GBK mode
// expects it: init, Chinese mode, text, feed, partial cut.
func usbTestReceipt(t *testing.T, total string) []byte {
	t.Helper()
	gbk := func(s string) []byte {
		b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
		if err != nil {
			t.Fatalf("gbk %q: %v", s, err)
		}
		return b
	}
	if got := fmt.Sprintf("%X", gbk("欢迎光临")); got != "BBB6D3ADB9E2C1D9" {
		t.Fatalf("gbk(欢迎光临) = %s, want BBB6D3ADB9E2C1D9", got)
	}
	var b bytes.Buffer
	b.Write([]byte{0x1b, 0x40})             // ESC @: initialise
	b.Write([]byte{0x1c, 0x26})             // FS &: Chinese character mode
	b.Write([]byte{0x1b, 0x61, 0x01})       // ESC a 1: centre
	b.Write(gbk("欢迎光临"))                    //
	b.WriteByte(0x0a)                       //
	b.Write([]byte{0x1b, 0x61, 0x00})       // ESC a 0: left
	b.Write(gbk("合计: " + total + " 元"))     //
	b.WriteByte(0x0a)                       //
	b.Write([]byte{0x1c, 0x2e})             // FS .: leave Chinese mode
	b.Write([]byte{0x1d, 0x56, 0x42, 0x00}) // GS V 66 0: feed and partial cut
	return b.Bytes()
}

// usbTestScenarios maps a scenario to its ioctl script and to the code the
// child runs against it.
var usbTestScenarios = map[string]struct {
	script func(t *testing.T) string
	run    func(t *testing.T, ctx context.Context)
}{
	"list": {
		script: func(*testing.T) string { return usbTestIdle },
		run: func(t *testing.T, ctx context.Context) {
			got, err := ListUSB(ctx)
			if err != nil {
				t.Fatalf("ListUSB: %v", err)
			}
			if len(got) != 1 {
				t.Fatalf("ListUSB = %+v, want just the printer (not the keyboard)", got)
			}
			d := got[0]
			if d.VID != usbTestVID || d.PID != usbTestPID || d.Bus != 1 || d.Address != 2 || !d.Bidirectional {
				t.Errorf("ListUSB[0] = %+v, want 0416:5011 on bus 1 address 2, bidirectional", d)
			}
			// From sysfs: the string-descriptor control transfers are not
			// scripted, so they fail and must not break the listing.
			if d.Manufacturer != "Winbond" || d.Product != "POS58 Printer" || d.Serial != "SN0001" {
				t.Errorf("strings = %q %q %q, want Winbond, POS58 Printer, SN0001", d.Manufacturer, d.Product, d.Serial)
			}
		},
	},
	"write": {
		script: func(t *testing.T) string { return usbTestOut(usbTestReceipt(t, "12.50")) },
		run: func(t *testing.T, ctx context.Context) {
			l := usbTestOpen(t, ctx, USBOptions{VID: usbTestVID, PID: usbTestPID})
			if got := l.String(); got != "usb 0416:5011" {
				t.Errorf("String() = %q, want %q", got, "usb 0416:5011")
			}
			if err := l.Write(ctx, usbTestReceipt(t, "12.50")); err != nil {
				t.Fatalf("Write(receipt): %v", err)
			}
			if err := l.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if err := l.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if err := l.Write(ctx, []byte{0x0a}); !errors.Is(err, devices.ErrOffline) {
				t.Errorf("Write after Close = %v, want ErrOffline", err)
			}
		},
	},
	// The same script as "write", but the till sends 12.60: the fake
	// printer must refuse it, or the byte-for-byte check proves nothing.
	"write-wrong-bytes": {
		script: func(t *testing.T) string { return usbTestOut(usbTestReceipt(t, "12.50")) },
		run: func(t *testing.T, ctx context.Context) {
			l := usbTestOpen(t, ctx, USBOptions{VID: usbTestVID, PID: usbTestPID})
			defer l.Close()
			err := l.Write(ctx, usbTestReceipt(t, "12.60"))
			if err == nil {
				t.Fatal("Write(wrong bytes) succeeded, want the scripted printer to reject it")
			}
			if !errors.Is(err, devices.ErrOffline) {
				t.Errorf("Write(wrong bytes) = %v, want it to wrap ErrOffline", err)
			}
			t.Logf("rejected as expected: %v", err)
		},
	},
	// A raster-sized job goes out as usbChunk-sized transfers and the rest.
	"write-chunks": {
		script: func(*testing.T) string {
			p := usbTestBig()
			return usbTestOut(p[:usbChunk]) + usbTestOut(p[usbChunk:])
		},
		run: func(t *testing.T, ctx context.Context) {
			l := usbTestOpen(t, ctx, USBOptions{})
			defer l.Close()
			if err := l.Write(ctx, usbTestBig()); err != nil {
				t.Fatalf("Write(%d bytes): %v", len(usbTestBig()), err)
			}
		},
	},
	"status": {
		script: func(*testing.T) string {
			return usbTestOut([]byte{0x10, 0x04, 0x04}) + usbTestIn([]byte{0x72})
		},
		run: func(t *testing.T, ctx context.Context) {
			// VID/PID 0: the first printer, which must not be the keyboard.
			l := usbTestOpen(t, ctx, USBOptions{})
			defer l.Close()
			if got := l.String(); got != "usb 0416:5011" {
				t.Errorf("String() = %q, want %q", got, "usb 0416:5011")
			}
			// DLE EOT 4: paper roll sensor status.
			if err := l.Write(ctx, []byte{0x10, 0x04, 0x04}); err != nil {
				t.Fatalf("Write(DLE EOT 4): %v", err)
			}
			var p [1]byte
			n, err := l.Read(ctx, p[:])
			if err != nil || n != 1 || p[0] != 0x72 {
				t.Fatalf("Read = %d, %v, % x; want 1 byte 72 (paper out)", n, err, p[:n])
			}
		},
	},
	// umockdev has no usbfs disconnect ioctl, so a detach request fails
	// there; that failure is the proof the option reaches libusb. Should a
	// future umockdev emulate the detach, this scenario needs a new proof.
	"autodetach": {
		script: func(*testing.T) string { return usbTestIdle },
		run: func(t *testing.T, ctx context.Context) {
			l, err := OpenUSB(ctx, USBOptions{VID: usbTestVID, PID: usbTestPID, AutoDetach: true})
			if err == nil {
				l.Close()
				t.Fatal("OpenUSB(AutoDetach) succeeded under umockdev, which cannot detach drivers")
			}
			if !errors.Is(err, devices.ErrOffline) {
				t.Errorf("OpenUSB(AutoDetach) = %v, want it to wrap ErrOffline", err)
			}
			t.Logf("detach refused as expected: %v", err)
			// The failed open must have released the device: a plain open
			// right after it works.
			usbTestOpen(t, ctx, USBOptions{VID: usbTestVID, PID: usbTestPID}).Close()
		},
	},
	"missing": {
		script: func(*testing.T) string { return usbTestIdle },
		run: func(t *testing.T, ctx context.Context) {
			l, err := OpenUSB(ctx, USBOptions{VID: 0x1234, PID: 0x5678})
			if err == nil {
				l.Close()
				t.Fatal("OpenUSB(1234:5678) succeeded on a bus without it")
			}
			if !errors.Is(err, devices.ErrOffline) {
				t.Errorf("OpenUSB(1234:5678) = %v, want it to wrap ErrOffline", err)
			}
			if !strings.Contains(err.Error(), "1234:5678") {
				t.Errorf("OpenUSB(1234:5678) = %v, want the VID:PID in the message", err)
			}
		},
	},
}

func usbTestBig() []byte {
	p := make([]byte, usbChunk+904)
	for i := range p {
		p[i] = byte(i * 7)
	}
	return p
}

func usbTestOpen(t *testing.T, ctx context.Context, o USBOptions) Link {
	t.Helper()
	// umockdev cannot emulate USBDEVFS_DISCONNECT, and there is no usblp
	// to detach anyway.
	o.AutoDetach = false
	l, err := OpenUSB(ctx, o)
	if err != nil {
		t.Fatalf("OpenUSB(%+v): %v", o, err)
	}
	return l
}

func TestUSBUmockdev(t *testing.T) {
	runner, err := exec.LookPath("umockdev-run")
	if err != nil {
		t.Fatalf("umockdev-run not found (%v): the USB printer tests need it; install the Debian package umockdev (apt-get install umockdev)", err)
	}
	for _, name := range []string{"list", "write", "write-wrong-bytes", "write-chunks", "status", "autodetach", "missing"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			usbTestRunChild(t, runner, name)
		})
	}
}

func usbTestRunChild(t *testing.T, runner, name string) {
	dir := t.TempDir()
	dev := filepath.Join(dir, "pos58.umockdev")
	script := filepath.Join(dir, name+".ioctl")
	if err := os.WriteFile(dev, []byte(usbTestBus()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, []byte(usbTestScenarios[name].script(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, runner,
		"--device", dev,
		"--ioctl", usbTestNode+"="+script,
		"--", os.Args[0],
		"-test.run", "^TestUSBUmockdevChild$",
		"-test.count", "1",
		"-test.v",
		"-test.timeout", "20s",
	)
	// Under -race the child would otherwise sleep a second at exit
	// (atexit_sleep_ms defaults to 1000) waiting for late race reports.
	cmd.Env = append(os.Environ(), usbTestScenarioEnv+"="+name,
		"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=50"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("umockdev child %q: %v\n%s", name, err, out)
	}
	// A child that ran no test also exits 0; the marker proves it ran.
	if !bytes.Contains(out, []byte(usbTestOKMarker+name)) {
		t.Fatalf("umockdev child %q did not run its scenario:\n%s", name, out)
	}
	if testing.Verbose() {
		t.Logf("child output:\n%s", out)
	}
}

// TestUSBUmockdevChild is the child half of TestUSBUmockdev; run on its own
// it does nothing.
func TestUSBUmockdevChild(t *testing.T) {
	name := os.Getenv(usbTestScenarioEnv)
	if name == "" {
		return
	}
	sc, ok := usbTestScenarios[name]
	if !ok {
		t.Fatalf("unknown scenario %q", name)
	}
	// libusb sees the fake /sys through LD_PRELOAD; Go's own file reads
	// bypass libc, so they are pointed at the testbed by hand.
	if root := os.Getenv("UMOCKDEV_DIR"); root != "" {
		usbSysfsDir = filepath.Join(root, "sys/bus/usb/devices")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sc.run(t, ctx)
	if !t.Failed() {
		fmt.Println(usbTestOKMarker + name)
	}
}

// A write-only printer (no bulk IN) has no status to read, which is not
// the same as a bad status.
func TestUSBLinkWithoutIn(t *testing.T) {
	l := &usbLink{id: "0416:5011", name: "usb 0416:5011"}
	if _, err := l.Read(context.Background(), make([]byte, 1)); !errors.Is(err, ErrNoReadBack) {
		t.Errorf("Read = %v, want ErrNoReadBack", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// The encoder must keep producing the bytes the scripts were written for.
func TestUSBTestReceiptBytes(t *testing.T) {
	want := "1B40" + "1C26" + "1B6101" + "BBB6D3ADB9E2C1D9" + "0A" + "1B6100" +
		hex.EncodeToString([]byte("\xba\xcf\xbc\xc6: 12.50 \xd4\xaa")) + "0A" + "1C2E" + "1D564200"
	if got := fmt.Sprintf("%X", usbTestReceipt(t, "12.50")); got != strings.ToUpper(want) {
		t.Errorf("receipt = %s\nwant      %s", got, strings.ToUpper(want))
	}
}
