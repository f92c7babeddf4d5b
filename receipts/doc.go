// Package receipts holds the receipt model shared by every channel and renders
// it from one layout two ways: as plain text for the screen, the demo
// printer and logs (Text), and as ESC/POS bytes for real printers (ESCPOS,
// shaped by a printer Profile: paper width, how it takes Chinese, cutter,
// cash drawer). Labels are bilingual: Chinese receipts carry English in
// brackets, as UnionPay slips do.
package receipts
