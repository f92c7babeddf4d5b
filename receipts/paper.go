package receipts

import (
	"fmt"
	"strings"
	"time"

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

// withDefaults fills in what the profile leaves at zero.
func (p Profile) withDefaults() Profile {
	if p.Width < minWidth {
		p.Width = Width58
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
	return p
}

// ESCPOS renders the receipt as ESC/POS bytes for a printer of profile p:
// the same layout as Text, with alignment, bold and double size done by the
// printer, a QR code of the order number, then feed and cut.
func ESCPOS(r Receipt, p Profile) []byte {
	p = p.withDefaults()
	if p.Chinese == escpos.ChineseNone {
		r.Lang = i18n.EN // labels only; a Chinese merchant name still prints as '?'
	}
	s := layout(r, p.Width)
	e := escpos.NewEncoder(p.Chinese).Init().CodePage(byte(p.CodePage))
	if p.DrawerPin != 0 && r.Copy == MerchantCopy && r.Type == Sale && !r.Reprint && !r.Retry {
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

// TestPage is what `pos doctor` prints: what the profile says, a ruler as
// wide as the paper (a line that wraps or stops short means the width is
// wrong), Chinese (garbled means the Chinese mode is wrong), bold, double
// size, a QR code, then feed and cut.
func TestPage(p Profile, printer string, at time.Time) []byte {
	p = p.withDefaults()
	e := escpos.NewEncoder(p.Chinese).Init().CodePage(byte(p.CodePage))
	e.Align(escpos.Center).Bold(true).Size(2, 2)
	if p.Chinese == escpos.ChineseNone {
		e.Println("PRINT TEST")
	} else {
		e.Println("打印测试")
	}
	e.Size(1, 1).Println("multipos PRINT TEST").Bold(false).Align(escpos.Left)
	ruler := strings.Repeat("1234567890", p.Width/10+1)[:p.Width]
	e.Println(ruler)
	for _, l := range wrap(clean(printer), p.Width) {
		e.Println(l)
	}
	e.Println(fmt.Sprintf("%d columns, chinese=%s, cut=%s", p.Width, p.Chinese, p.Cut))
	e.Println(at.Format("2006/01/02 15:04:05"))
	if p.Chinese != escpos.ChineseNone {
		e.Println("中文：银联 支付宝 微信支付 ￥12.34元")
		e.Println("商户存根 持卡人存根 重打印 演示")
	}
	e.Bold(true).Println("BOLD 粗体").Bold(false)
	e.Size(2, 2).Println("RMB 88.00").Size(1, 1)
	e.Align(escpos.Center).QR("multipos print test", p.QRSize, escpos.ECCM).Align(escpos.Left)
	e.Println(strings.Repeat("-", p.Width))
	return e.Cut(p.Cut, p.Feed).Bytes()
}
