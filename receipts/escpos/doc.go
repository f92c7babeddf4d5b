// Package escpos is the small part of ESC/POS a receipt needs, both ways:
// an encoder for the commands the receipts package prints with (Chinese in
// GBK, bold, sizes, alignment, QR codes, feeds, cuts, the cash drawer), a
// decoder that turns printed bytes back into readable text with markers for
// those commands (tests, the printer peer and `pos doctor` read receipts
// with it), and the DLE EOT status bytes.
//
// It is our own because the Go ESC/POS libraries get QR error correction and
// the drawer pulse wrong and reach for cgo iconv for GBK; see
// ../shared/notes/cards-and-printers.md, section C.
package escpos
