// Package receipts holds the receipt model shared by every channel and renders
// it: as plain text for the screen, the demo printer and logs (here), and as
// ESC/POS bytes for real printers (later, from the same model). Labels are
// bilingual: Chinese receipts carry English in brackets, as UnionPay slips do.
package receipts
