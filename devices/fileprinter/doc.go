// Package fileprinter prints receipts as plain text appended to a file or a
// character device (config printer kind "file", e.g. /dev/usb/lp0). Many
// receipt printers print UTF-8 or ASCII text sent to their device node as
// is, which makes this the simplest real printer; ESC/POS with GBK text,
// paper sensing and cutting comes in its own package behind the same
// devices.Printer interface.
package fileprinter
