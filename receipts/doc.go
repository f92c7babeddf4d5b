// Package receipts holds the receipt model shared by every channel and renders
// it from one layout two ways: as plain text for the screen, the demo
// printer and logs (Text), and as ESC/POS bytes for real printers (ESCPOS,
// shaped by a printer Profile: paper width, how it takes Chinese, cutter,
// cash drawer). Labels are bilingual: Chinese receipts carry English in
// brackets, as UnionPay slips do.
//
// A Receipt whose Settlement is set (NewSettlementSlip) is a settlement
// slip (结算单) instead of a payment's: merchant, terminal, who settled (or
// the cut-off), batch, period, count and amount per kind, debits, credits
// and net, balanced or not (and how many uploaded), reversals sent, the
// next batch and when it was printed; one copy, no card number, no cash
// drawer. It goes through the same print queue and printers as any receipt.
package receipts
