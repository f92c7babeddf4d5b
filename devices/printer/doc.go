// Package printer drives ESC/POS receipt printers: over USB (gousb, cgo),
// raw TCP port 9100, or a device file such as /dev/usb/lp0 or a serial
// port. Every transport is a Link; Printer sits above it, asks the printer
// for its status (DLE EOT) before and after each copy, renders receipts for
// the printer's profile and reports how far a copy has gone.
package printer
