package receipts

import (
	"regexp"
	"strings"

	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/i18n"
)

// Paper widths in characters (terminal cells).
const (
	Width58 = 32 // 58 mm paper
	Width80 = 48 // 80 mm paper
)

// minWidth keeps the layout meaningful when a caller passes nonsense.
const minWidth = 20

// label is one field name in both languages. Chinese receipts print
// "商户名称(MERCHANT NAME)" where it fits the paper, as UnionPay slips do.
type label struct{ zh, en string }

var (
	lMerchantName = label{"商户名称", "MERCHANT NAME"}
	lMerchantID   = label{"商户编号", "MERCHANT NO."}
	lTerminalID   = label{"终端编号", "TERMINAL NO."}
	lOperator     = label{"操作员号", "OPERATOR NO."}
	lCardNo       = label{"卡号", "CARD NO."}
	lExpiry       = label{"有效期", "EXP DATE"}
	lEntry        = label{"输入方式", "ENTRY MODE"}
	lType         = label{"交易类型", "TRANS TYPE"}
	lBatch        = label{"批次号", "BATCH NO."}
	lTrace        = label{"凭证号", "TRACE NO."}
	lOrigTrace    = label{"原凭证号", "ORIG TRACE"}
	lAuth         = label{"授权码", "AUTH CODE"}
	lRRN          = label{"参考号", "REF NO."}
	lOrderNo      = label{"商户单号", "ORDER NO."}
	lTradeNo      = label{"交易单号", "TRADE NO."}
	lTime         = label{"日期/时间", "DATE/TIME"}
	lAmount       = label{"金额", "AMOUNT"}
	lSignature    = label{"持卡人签名", "CARDHOLDER SIGNATURE"}
)

// text returns the label as printed in lang on paper w cells wide.
func (l label) text(lang i18n.Lang, w int) string {
	if lang == i18n.EN {
		return l.en
	}
	if both := l.zh + "(" + l.en + ")"; cells(both) <= w {
		return both
	}
	return l.zh
}

// both returns "中文 English" in Chinese receipts and "English" in English ones.
func both(lang i18n.Lang, zh, en string) string {
	if lang == i18n.EN {
		return en
	}
	return zh + " " + en
}

var channelTitles = map[string][2]label{ // title, subtitle
	"card":   {{"银联", "UnionPay"}, {"POS签购单", "SALES SLIP"}},
	"alipay": {{"支付宝", "Alipay"}, {"收款凭证", "PAYMENT RECEIPT"}},
	"wechat": {{"微信支付", "WeChat Pay"}, {"收款凭证", "PAYMENT RECEIPT"}},
}

var entryNames = map[string]label{
	string(cards.EntryChip):        {"插卡", "CHIP"},
	string(cards.EntrySwipe):       {"刷卡", "SWIPE"},
	string(cards.EntryContactless): {"挥卡", "CONTACTLESS"},
}

var typeNames = map[Type]label{Sale: {"消费", "SALE"}, Void: {"消费撤销", "VOID"}, Refund: {"退货", "REFUND"}}

// Text renders the receipt as plain text for the screen, the demo printer
// and logs: width cells per line (Width58 or Width80; below 20 counts as
// 20), every line ending in "\n", no line wider than width and none ending
// in spaces. A card number that arrives unmasked is masked.
func Text(r Receipt, width int) string {
	return layout(r, width).String()
}

// layout lays the receipt out once for both text and paper.
func layout(r Receipt, width int) *sheet {
	if width < minWidth {
		width = minWidth
	}
	if r.Settlement != nil {
		return settlementLayout(r, width)
	}
	l := slip{s: &sheet{w: width}, r: r, lang: r.Lang, card: r.Channel == "card"}
	if l.lang != i18n.EN {
		l.lang = i18n.ZH
	}
	if r.Demo {
		demoBanner(l.s, l.lang)
	}
	l.head()
	l.parties()
	l.transaction()
	l.amount()
	if l.card {
		if r.Copy == MerchantCopy {
			l.s.para(lSignature.text(l.lang, width))
			l.s.blank()
			l.s.blank()
			l.s.blank()
			l.s.rule("-")
		}
		acknowledge(l.s, l.lang)
	}
	if r.Demo {
		demoBanner(l.s, l.lang)
	}
	return l.s
}

// slip is a receipt being laid out, part by part.
type slip struct {
	s    *sheet
	r    Receipt
	lang i18n.Lang
	card bool
}

// v is free text as printed. Free text could carry a card number by
// mistake (an operator typing it into a field); on a card receipt any
// such number is masked.
func (l slip) v(x string) string {
	if l.card {
		return maskPANs(x)
	}
	return x
}

// f prints a field: its label and value.
func (l slip) f(lb label, value string) { l.s.field(lb.text(l.lang, l.s.w), value) }

// head prints the channel's title, the reprint mark and whose copy it is.
func (l slip) head() {
	s, lang := l.s, l.lang
	if t, ok := channelTitles[l.r.Channel]; ok {
		s.title(both(lang, t[0].zh, t[0].en))
		s.center(pick(lang, t[1]))
	} else {
		s.title(strings.ToUpper(clean(l.r.Channel)))
	}
	if l.r.Reprint {
		s.banner(both(lang, "重打印", "REPRINT"), "=")
	}
	s.rule("-")
	switch {
	case l.r.Copy == MerchantCopy:
		s.style(s.center(both(lang, "商户存根", "MERCHANT COPY")), true, false)
	case l.r.Copy == CustomerCopy && l.card:
		s.style(s.center(both(lang, "持卡人存根", "CARDHOLDER COPY")), true, false)
	case l.r.Copy == CustomerCopy:
		s.style(s.center(both(lang, "顾客联", "CUSTOMER COPY")), true, false)
	}
	if l.r.Copy == MerchantCopy || l.r.Copy == CustomerCopy {
		s.rule("-")
	}
}

// parties prints the merchant, terminal and operator.
func (l slip) parties() {
	l.f(lMerchantName, l.v(l.r.MerchantName))
	l.f(lMerchantID, l.v(l.r.MerchantID))
	l.f(lTerminalID, l.v(l.r.TerminalID))
	l.f(lOperator, l.v(l.r.Operator))
	l.s.rule("-")
}

// transaction prints the card, the kind of transaction and its numbers.
func (l slip) transaction() {
	r := l.r
	if l.card {
		l.f(lCardNo, maskedPAN(r.MaskedPAN))
		l.f(lExpiry, l.v(r.Expiry))
		if e, ok := entryNames[r.Entry]; ok {
			l.f(lEntry, pick(l.lang, e))
		} else {
			l.f(lEntry, strings.ToUpper(l.v(r.Entry)))
		}
	}
	if t, ok := typeNames[r.Type]; ok {
		l.f(lType, pick(l.lang, t))
	} else {
		l.f(lType, strings.ToUpper(l.v(string(r.Type))))
	}
	if l.card {
		l.f(lBatch, l.v(r.Batch))
	}
	l.f(lTrace, l.v(r.Trace))
	if r.OrigTrace != "" {
		l.f(lOrigTrace, l.v(r.OrigTrace))
	}
	if l.card {
		l.f(lAuth, l.v(r.AuthCode))
		l.f(lRRN, l.v(r.RRN))
		l.f(lOrderNo, l.v(r.OrderNo))
	} else {
		l.f(lOrderNo, r.OrderNo)
		l.f(lTradeNo, r.TradeNo)
	}
	if !r.Time.IsZero() {
		l.f(lTime, r.Time.Format("2006/01/02 15:04:05"))
	}
	l.s.rule("-")
}

// amount prints the amount, negative for money back to the cardholder,
// and the order number's QR code.
func (l slip) amount() {
	sign := ""
	if l.r.Type == Void || l.r.Type == Refund {
		sign = "-"
	}
	l.s.para(lAmount.text(l.lang, l.s.w))
	l.s.right("RMB "+sign+l.r.Amount.Grouped(), true)
	l.s.rule("-")
	l.s.qr(l.v(l.r.OrderNo))
}

// pick prints a coded value or subtitle: "消费(SALE)" or "SALE".
func pick(lang i18n.Lang, l label) string {
	if lang == i18n.EN {
		return l.en
	}
	return l.zh + "(" + l.en + ")"
}

func demoBanner(s *sheet, lang i18n.Lang) {
	s.rule("*")
	s.banner(both(lang, "演示", "DEMO"), "*")
	s.style(s.center(both(lang, "非真实交易", "NOT A REAL PAYMENT")), true, false)
	s.rule("*")
}

// acknowledge prints the cardholder's statement UnionPay slips carry; the
// Chinese one breaks at its comma when it needs two lines.
func acknowledge(s *sheet, lang i18n.Lang) {
	if lang != i18n.EN {
		const zh = "本人确认以上交易，同意将其记入本卡账户"
		if cells(zh) <= s.w {
			s.add(zh)
		} else {
			s.para("本人确认以上交易，")
			s.para("同意将其记入本卡账户")
		}
	}
	s.para("I ACKNOWLEDGE SATISFACTORY RECEIPT OF RELATIVE GOODS/SERVICES")
}

// maskedPAN masks a card number that arrives in full, with or without
// spaces; an already masked one is printed as it is.
func maskedPAN(p string) string {
	digits := strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(p))
	if len(digits) >= 12 && strings.Trim(digits, "0123456789") == "" {
		return cards.Mask(digits)
	}
	return maskPANs(p)
}

var digitRun = regexp.MustCompile(`\d+`)

// maskPANs masks every run of 13 to 19 digits that passes the Luhn check.
func maskPANs(s string) string {
	return digitRun.ReplaceAllStringFunc(s, func(run string) string {
		if len(run) >= 13 && len(run) <= 19 && cards.Luhn(run) {
			return cards.Mask(run)
		}
		return run
	})
}
