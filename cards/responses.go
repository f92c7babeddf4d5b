package cards

// responseTexts are the cashier-facing meanings of field 39, as UnionPay
// terminals show them (Chinese, English). They tell the cashier what to do
// next, not the issuer's internal reason.
var responseTexts = map[string][2]string{
	"00": {"交易成功", "Approved"},
	"01": {"请持卡人与发卡行联系", "Refer to card issuer"},
	"03": {"无效商户", "Invalid merchant"},
	"04": {"没收卡，请联系收单行", "Pick up the card: call the acquirer"},
	"05": {"发卡行拒绝交易", "Declined by the issuer"},
	"12": {"无效交易", "Invalid transaction"},
	"13": {"无效金额", "Invalid amount"},
	"14": {"无效卡号", "Invalid card number"},
	"15": {"无此发卡行", "No such issuer"},
	"25": {"找不到原始交易", "Original transaction not found"},
	"30": {"报文格式错误", "Message format error"},
	"41": {"挂失卡，请没收", "Lost card, pick up"},
	"43": {"被窃卡，请没收", "Stolen card, pick up"},
	"51": {"余额不足", "Insufficient funds"},
	"54": {"卡已过期", "Expired card"},
	"55": {"密码错误", "Incorrect PIN"},
	"57": {"不允许持卡人进行的交易", "Transaction not permitted to cardholder"},
	"58": {"不允许终端进行的交易", "Transaction not permitted to terminal"},
	"61": {"超出金额限制", "Exceeds amount limit"},
	"65": {"超出取款次数限制", "Exceeds frequency limit"},
	"75": {"密码错误次数超限", "PIN tries exceeded"},
	"77": {"批次号不符，请重新签到", "Batch number mismatch: sign on again"},
	"91": {"发卡行不能及时响应，请稍后重试", "Issuer unavailable: try again later"},
	"94": {"重复交易", "Duplicate transaction"},
	"95": {"对账不平，请重新结算", "Reconcile error: settle again"},
	"96": {"系统故障，请稍后重试", "System malfunction: try again later"},
	"A0": {"MAC校验错，请重新签到", "MAC error, sign on again"},
}

// Text is the cashier text for response code code, in Chinese when zh is
// true. Unknown codes still show the code, so the cashier can read it to
// the bank's help desk.
func ResponseText(code string, zh bool) string {
	t, ok := responseTexts[code]
	switch {
	case ok && zh:
		return t[0]
	case ok:
		return t[1]
	case zh:
		return "交易失败（应答码 " + code + "）"
	default:
		return "Declined (response code " + code + ")"
	}
}
