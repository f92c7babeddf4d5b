package channels

import "github.com/multipos/multipos/i18n"

// responseTexts explains ISO 8583 response codes (field 39) to the cashier.
var responseTexts = map[string][2]string{
	"00": {"交易成功", "Approved"},
	"01": {"请联系发卡行", "Refer to the card issuer"},
	"03": {"无效商户", "Invalid merchant"},
	"04": {"没收卡，请联系收单行", "Pick up the card: call the acquirer"},
	"05": {"发卡行拒绝交易", "Declined by the issuer"},
	"12": {"无效交易", "Invalid transaction"},
	"13": {"金额无效", "Invalid amount"},
	"14": {"无效卡号", "Invalid card number"},
	"15": {"无此发卡行", "No such issuer"},
	"30": {"报文格式错误", "Message format error"},
	"41": {"挂失卡，请没收", "Lost card: keep it"},
	"43": {"被窃卡，请没收", "Stolen card: keep it"},
	"51": {"余额不足", "Insufficient funds"},
	"54": {"卡已过期", "Expired card"},
	"55": {"密码错误", "Incorrect PIN"},
	"57": {"持卡人不允许此交易", "Not permitted to the cardholder"},
	"58": {"终端不允许此交易", "Not permitted on this terminal"},
	"61": {"超出金额限制", "Exceeds the amount limit"},
	"65": {"超出消费次数限制", "Exceeds the frequency limit"},
	"75": {"密码错误次数超限", "PIN tries exceeded"},
	"91": {"发卡行不能及时响应", "Issuer unavailable: try again later"},
	"94": {"重复交易", "Duplicate transaction"},
	"96": {"系统故障", "System malfunction: try again later"},
	"A0": {"校验错误，请重新签到", "MAC error: sign on again"},
}

// ResponseText explains a response code in lang; unknown codes say so with the code.
func ResponseText(code string, lang i18n.Lang) string {
	if t, ok := responseTexts[code]; ok {
		return lang.Pick(t[0], t[1])
	}
	return lang.Pick("交易失败（应答码 "+code+"）", "Declined (response code "+code+")")
}
