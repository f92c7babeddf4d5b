//go:build cgo

package printer

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/google/gousb"

	"github.com/multipos/multipos/devices"
)

// usbClassPrinter is the USB-IF printer class. ESC/POS receipt printers
// that follow the spec put it on their interface, not on the device.
const usbClassPrinter gousb.Class = 0x07

// usbChunk bounds one bulk OUT transfer. gousb copies each transfer into a
// C buffer of the same size, so a large raster logo would otherwise need one
// allocation of its whole size; chunks also make a failure point at the
// part of the job that did not go out.
const usbChunk = 4096

// USBOptions selects a USB printer. VID/PID 0 = the first printer-class
// device (interface class 7).
type USBOptions struct {
	VID, PID uint16
	// AutoDetach detaches the kernel's usblp driver from the interface
	// before claiming it. Real Linux binds usblp to every printer-class
	// interface, so a claim fails with "busy" without it; umockdev cannot
	// emulate the detach ioctl, so tests turn it off.
	AutoDetach bool
}

// USBDevice is one printer found on the bus, for `pos doctor`.
type USBDevice struct {
	VID, PID     uint16
	Bus, Address int
	// Manufacturer, Product and Serial are empty when the device could not
	// be opened (no permission, or no udev rule yet): listing must still
	// show that the printer is plugged in.
	Manufacturer, Product, Serial string
	// Bidirectional reports a bulk IN endpoint, i.e. DLE EOT status can
	// be read back.
	Bidirectional bool
}

// usbPrinterSetting is where a printer's data goes inside its descriptors.
type usbPrinterSetting struct {
	config, iface, alt int
	out, in            *gousb.EndpointDesc // in is nil on a write-only printer
}

// usbFindSetting picks the printer interface of d. With anyClass, an
// interface that is not class 7 but has a bulk OUT endpoint also counts:
// many cheap ESC/POS printers declare a vendor-specific class, and the
// cashier who typed their VID:PID has already said which device it is.
func usbFindSetting(d *gousb.DeviceDesc, anyClass bool) (usbPrinterSetting, bool) {
	var fallback usbPrinterSetting
	haveFallback := false
	for _, cfgNum := range slices.Sorted(maps.Keys(d.Configs)) {
		cfg := d.Configs[cfgNum]
		for _, intf := range cfg.Interfaces {
			for _, alt := range intf.AltSettings {
				s := usbPrinterSetting{config: cfgNum, iface: alt.Number, alt: alt.Alternate}
				for _, addr := range slices.Sorted(maps.Keys(alt.Endpoints)) {
					ep := alt.Endpoints[addr]
					if ep.TransferType != gousb.TransferTypeBulk {
						continue
					}
					if ep.Direction == gousb.EndpointDirectionOut && s.out == nil {
						s.out = &ep
					}
					if ep.Direction == gousb.EndpointDirectionIn && s.in == nil {
						s.in = &ep
					}
				}
				if s.out == nil {
					continue
				}
				if alt.Class == usbClassPrinter || d.Class == usbClassPrinter {
					return s, true
				}
				if anyClass && !haveFallback {
					fallback, haveFallback = s, true
				}
			}
		}
	}
	return fallback, haveFallback
}

// usbIsPrinter reports whether d is printer class at device or interface
// level, whatever its endpoints.
func usbIsPrinter(d *gousb.DeviceDesc) bool {
	if d.Class == usbClassPrinter {
		return true
	}
	for _, cfg := range d.Configs {
		for _, intf := range cfg.Interfaces {
			for _, alt := range intf.AltSettings {
				if alt.Class == usbClassPrinter {
					return true
				}
			}
		}
	}
	return false
}

// usbNewContext turns gousb's panic on a failed libusb_init (no usbfs, a
// sandbox without /dev) into an error, so a till without USB still starts.
func usbNewContext() (c *gousb.Context, err error) {
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, fmt.Errorf("libusb init: %v", r)
		}
	}()
	return gousb.NewContext(), nil
}

// ListUSB returns every printer-class device (class 7 at device or
// interface level). Strings are best-effort.
func ListUSB(ctx context.Context) ([]USBDevice, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	uc, err := usbNewContext()
	if err != nil {
		return nil, fmt.Errorf("usb printers: %w", err)
	}
	defer uc.Close()

	var found []*gousb.DeviceDesc
	devs, err := uc.OpenDevices(func(d *gousb.DeviceDesc) bool {
		if !usbIsPrinter(d) {
			return false
		}
		found = append(found, d)
		return true
	})
	defer func() {
		for _, d := range devs {
			d.Close()
		}
	}()
	// An open error only costs the strings of one device; an error with
	// nothing found may be the bus itself failing.
	if err != nil && len(found) == 0 {
		return nil, fmt.Errorf("usb printers: %w", err)
	}

	opened := make(map[*gousb.DeviceDesc]*gousb.Device, len(devs))
	for _, d := range devs {
		opened[d.Desc] = d
	}
	out := make([]USBDevice, 0, len(found))
	for _, desc := range found {
		u := USBDevice{
			VID:     uint16(desc.Vendor),
			PID:     uint16(desc.Product),
			Bus:     desc.Bus,
			Address: desc.Address,
		}
		if s, ok := usbFindSetting(desc, false); ok {
			u.Bidirectional = s.in != nil
		}
		u.Manufacturer, u.Product, u.Serial = usbSysfsStrings(desc.Bus, desc.Address)
		if d := opened[desc]; d != nil && ctx.Err() == nil {
			usbFill(&u.Manufacturer, d.Manufacturer)
			usbFill(&u.Product, d.Product)
			usbFill(&u.Serial, d.SerialNumber)
		}
		out = append(out, u)
	}
	return out, nil
}

func usbFill(dst *string, get func() (string, error)) {
	if *dst != "" {
		return
	}
	if v, err := get(); err == nil {
		*dst = v
	}
}

// usbSysfsDir is where Linux publishes the descriptors' strings. A
// variable because Go reads files with raw syscalls, which umockdev's
// LD_PRELOAD cannot redirect: tests point it into the testbed.
var usbSysfsDir = "/sys/bus/usb/devices"

// usbSysfsStrings reads the strings the kernel cached when the device was
// plugged in. They are world-readable, unlike the usbfs node, so `pos
// doctor` can name a printer before its udev rule is installed. Elsewhere
// than Linux the directory is missing and the strings stay empty.
func usbSysfsStrings(bus, addr int) (manufacturer, product, serial string) {
	entries, err := os.ReadDir(usbSysfsDir)
	if err != nil {
		return "", "", ""
	}
	attr := func(dir, name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	for _, e := range entries {
		dir := filepath.Join(usbSysfsDir, e.Name())
		if attr(dir, "busnum") != strconv.Itoa(bus) || attr(dir, "devnum") != strconv.Itoa(addr) {
			continue
		}
		return attr(dir, "manufacturer"), attr(dir, "product"), attr(dir, "serial")
	}
	return "", "", ""
}

// usbLink is a claimed printer interface. Close cancels done so that a
// Read parked on a silent printer returns instead of blocking the release.
type usbLink struct {
	id, name string // "0416:5011", "usb 0416:5011"

	done   context.Context
	cancel context.CancelFunc

	// ops is held shared by Write and Read and exclusively by Close:
	// libusb must not free the handle under an in-flight transfer.
	ops    sync.RWMutex
	closed bool
	wmu    sync.Mutex // one print job's chunks must not interleave with another's
	rmu    sync.Mutex // guards pending
	ctx    *gousb.Context
	dev    *gousb.Device
	cfg    *gousb.Config
	intf   *gousb.Interface
	// out and in stay set after Close (closed guards their use), so Read
	// can answer ErrNoReadBack without taking locks.
	out    *gousb.OutEndpoint
	in     *gousb.InEndpoint // nil on a write-only printer
	inSize int
	// pending holds bytes of a packet that did not fit the caller's
	// buffer: the device sends whole packets, and a 1-byte status read
	// must not lose the rest.
	pending []byte
}

// OpenUSB finds the printer, sets its configuration and claims its printer
// interface with the bulk OUT and, if present, bulk IN endpoints.
func OpenUSB(ctx context.Context, o USBOptions) (Link, error) {
	prefix := fmt.Sprintf("usb printer %04x:%04x", o.VID, o.PID)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", prefix, err)
	}
	uc, err := usbNewContext()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", prefix, devices.ErrOffline, err)
	}
	l, err := usbOpen(uc, o, prefix)
	if err != nil {
		uc.Close()
		return nil, err
	}
	return l, nil
}

func usbOpen(uc *gousb.Context, o USBOptions, prefix string) (*usbLink, error) {
	explicit := o.VID != 0 || o.PID != 0
	var setting usbPrinterSetting
	picked := false
	devs, enumErr := uc.OpenDevices(func(d *gousb.DeviceDesc) bool {
		if picked {
			return false
		}
		if o.VID != 0 && uint16(d.Vendor) != o.VID {
			return false
		}
		if o.PID != 0 && uint16(d.Product) != o.PID {
			return false
		}
		s, ok := usbFindSetting(d, explicit)
		if !ok {
			return false
		}
		setting, picked = s, true
		return true
	})
	if len(devs) == 0 {
		if picked && enumErr != nil {
			// Found but could not open: usually permissions.
			return nil, fmt.Errorf("%s: open: %w: %w", prefix, devices.ErrOffline, enumErr)
		}
		if enumErr != nil {
			return nil, fmt.Errorf("%s: not found: %w: %w", prefix, devices.ErrOffline, enumErr)
		}
		return nil, fmt.Errorf("%s: not found: %w", prefix, devices.ErrOffline)
	}
	dev := devs[0]
	for _, extra := range devs[1:] {
		extra.Close()
	}
	vid, pid := uint16(dev.Desc.Vendor), uint16(dev.Desc.Product)
	prefix = fmt.Sprintf("usb printer %04x:%04x", vid, pid)

	id := fmt.Sprintf("%04x:%04x", vid, pid)
	l := &usbLink{id: id, name: "usb " + id, ctx: uc, dev: dev}
	fail := func(what string, err error) (*usbLink, error) {
		l.release()
		return nil, fmt.Errorf("%s: %s: %w: %w", prefix, what, devices.ErrOffline, err)
	}
	if err := dev.SetAutoDetach(o.AutoDetach); err != nil {
		return fail("auto-detach", err)
	}
	cfg, err := dev.Config(setting.config)
	if err != nil {
		return fail(fmt.Sprintf("config %d", setting.config), err)
	}
	l.cfg = cfg
	intf, err := cfg.Interface(setting.iface, setting.alt)
	if err != nil {
		return fail(fmt.Sprintf("claim interface %d", setting.iface), err)
	}
	l.intf = intf
	out, err := intf.OutEndpoint(setting.out.Number)
	if err != nil {
		return fail("bulk out", err)
	}
	l.out = out
	if setting.in != nil {
		in, err := intf.InEndpoint(setting.in.Number)
		if err != nil {
			return fail("bulk in", err)
		}
		l.in = in
		l.inSize = setting.in.MaxPacketSize
		if l.inSize <= 0 {
			l.inSize = 64
		}
	}
	l.done, l.cancel = context.WithCancel(context.Background())
	return l, nil
}

// release frees what usbOpen acquired, in reverse order; gousb refuses to
// close a device that still has a claimed config.
func (l *usbLink) release() error {
	var errs []error
	if l.intf != nil {
		l.intf.Close()
		l.intf = nil
	}
	if l.cfg != nil {
		errs = append(errs, l.cfg.Close())
		l.cfg = nil
	}
	if l.dev != nil {
		errs = append(errs, l.dev.Close())
		l.dev = nil
	}
	if l.ctx != nil {
		errs = append(errs, l.ctx.Close())
		l.ctx = nil
	}
	return errors.Join(errs...)
}

func (l *usbLink) String() string { return l.name }

// opContext ends when ctx ends or the link is closed.
func (l *usbLink) opContext(ctx context.Context) (context.Context, func()) {
	c, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(l.done, cancel)
	return c, func() { stop(); cancel() }
}

func (l *usbLink) Write(ctx context.Context, p []byte) error {
	l.ops.RLock()
	defer l.ops.RUnlock()
	if l.closed {
		return fmt.Errorf("usb printer %s: write: %w: %w", l.id, devices.ErrOffline, os.ErrClosed)
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	c, stop := l.opContext(ctx)
	defer stop()

	sent := 0
	for sent < len(p) {
		end := min(sent+usbChunk, len(p))
		n, err := l.out.WriteContext(c, p[sent:end])
		sent += n
		if err == nil && n == 0 {
			err = errors.New("printer accepted no data")
		}
		if err != nil {
			return l.opErr(ctx, "write", fmt.Sprintf("%d of %d bytes sent", sent, len(p)), err)
		}
	}
	return nil
}

func (l *usbLink) Read(ctx context.Context, p []byte) (int, error) {
	if l.in == nil {
		return 0, ErrNoReadBack
	}
	if len(p) == 0 {
		return 0, nil
	}
	l.ops.RLock()
	defer l.ops.RUnlock()
	if l.closed {
		return 0, fmt.Errorf("usb printer %s: read: %w: %w", l.id, devices.ErrOffline, os.ErrClosed)
	}
	l.rmu.Lock()
	defer l.rmu.Unlock()
	if len(l.pending) > 0 {
		n := copy(p, l.pending)
		l.pending = l.pending[n:]
		return n, nil
	}
	c, stop := l.opContext(ctx)
	defer stop()

	// Whole packets, or libusb reports an overflow when the printer sends
	// more than the caller asked for.
	buf := make([]byte, (len(p)+l.inSize-1)/l.inSize*l.inSize)
	for {
		n, err := l.in.ReadContext(c, buf)
		if err != nil {
			return 0, l.opErr(ctx, "read", "", err)
		}
		// A zero-length packet is the printer saying "nothing yet".
		if n == 0 {
			continue
		}
		k := copy(p, buf[:n])
		l.pending = append(l.pending[:0], buf[k:n]...)
		return k, nil
	}
}

// opErr wraps a transfer failure: ErrOffline for callers deciding what to
// tell the cashier, and the caller's ctx error when that is what ended it,
// since gousb only reports a cancelled transfer.
func (l *usbLink) opErr(ctx context.Context, op, detail string, err error) error {
	where := "usb printer " + l.id + ": " + op
	if detail != "" {
		where += " (" + detail + ")"
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%s: %w: %w", where, devices.ErrOffline, cerr)
	}
	if l.done.Err() != nil {
		return fmt.Errorf("%s: %w: %w", where, devices.ErrOffline, os.ErrClosed)
	}
	return fmt.Errorf("%s: %w: %w", where, devices.ErrOffline, err)
}

func (l *usbLink) Close() error {
	if l.cancel != nil {
		l.cancel()
	}
	l.ops.Lock()
	defer l.ops.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	if err := l.release(); err != nil {
		return fmt.Errorf("usb printer %s: close: %w", l.id, err)
	}
	return nil
}
