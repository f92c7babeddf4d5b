package receipts

import (
	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/receipts/escpos"
)

// Profile is what a printer model needs to print a receipt right.
type Profile struct {
	Width     int            // characters per line: Width58 or Width80
	Chinese   escpos.Chinese // how it takes Chinese; ChineseNone prints receipts in English
	CodePage  int            // ESC t table for single-byte text; 0 = PC437
	Cut       escpos.Cut     // CutNone for printers without a cutter
	Feed      int            // lines fed before the cut, so the last line clears the blade; 0 = 4
	DrawerPin int            // 2 or 5: kick the cash drawer with a sale's merchant copy; 0 = no drawer
	QRSize    int            // QR module size in dots, 1–16; 0 = 6 on 80 mm paper, 4 on 58 mm
}

// ESCPOS renders the receipt as ESC/POS bytes for a printer of profile p:
// the same layout as Text, with alignment, bold and double size done by the
// printer, a QR code of the order number, then feed and cut.
func ESCPOS(r Receipt, p Profile) []byte {
	if p.Width < minWidth {
		p.Width = Width58
	}
	if p.Chinese == escpos.ChineseNone {
		r.Lang = i18n.EN // labels only; a Chinese merchant name still prints as '?'
	}
	if p.Feed <= 0 {
		p.Feed = 4
	}
	if p.QRSize <= 0 {
		p.QRSize = 4
		if p.Width >= Width80 {
			p.QRSize = 6
		}
	}
	s := layout(r, p.Width)
	e := escpos.NewEncoder(p.Chinese).Init().CodePage(byte(p.CodePage))
	if p.DrawerPin != 0 && r.Copy == MerchantCopy && r.Type == Sale && !r.Reprint {
		e.Drawer(p.DrawerPin)
	}
	align, bold, big := escpos.Left, false, false
	for _, l := range s.lines {
		if l.qr != "" {
			if align != escpos.Center {
				align = escpos.Center
				e.Align(align)
			}
			e.QR(l.qr, p.QRSize, escpos.ECCM)
			continue
		}
		if l.align != align {
			align = l.align
			e.Align(align)
		}
		if l.bold != bold {
			bold = l.bold
			e.Bold(bold)
		}
		if l.big != big {
			big = l.big
			if big {
				e.Size(2, 2)
			} else {
				e.Size(1, 1)
			}
		}
		e.Println(l.raw)
	}
	if align != escpos.Left {
		e.Align(escpos.Left)
	}
	if bold {
		e.Bold(false)
	}
	if big {
		e.Size(1, 1)
	}
	return e.Cut(p.Cut, p.Feed).Bytes()
}
