package tui

import (
	"fmt"

	"github.com/multipos/multipos/i18n"
)

// texts holds every screen string in both languages: {zh, en}.
var texts = map[string][2]string{
	"app.title":       {"多通道收银", "multipos"},
	"demo.badge":      {"演示 DEMO", "演示 DEMO"},
	"channels.title":  {"请选择支付通道", "Choose a payment channel"},
	"channels.limit":  {"单笔限额 %s", "limit %s per payment"},
	"channels.nolim":  {"单笔不限额", "no per-payment limit"},
	"channels.left":   {"今日余额 %s", "%s left today"},
	"channels.off":    {"未开通", "disabled"},
	"channels.noinfo": {"限额未知（服务器未连接）", "limits unknown (server not reached)"},
	"channels.nosuch": {"没有通道 %s，请按 1-%d", "No channel %s: press 1-%d"},
	"channels.isoff":  {"%s 未开通", "%s is disabled for this terminal"},
	"channels.pick":   {"请按通道序号", "Press the number of a channel"},

	"welcome.alipay": {"欢迎使用支付宝收款", "Welcome to Alipay"},
	"welcome.wechat": {"欢迎使用微信支付收款", "Welcome to WeChat Pay"},
	"welcome.card":   {"欢迎使用银联刷卡收款", "Welcome to UnionPay"},
	"welcome.press":  {"按 %s 进入主菜单", "Press %s for the main menu"},

	"menu.title":    {"主菜单", "Main menu"},
	"menu.qr":       {"扫码支付", "Scan to pay"},
	"menu.barcode":  {"付款码收款", "Barcode pay"},
	"menu.refund":   {"退款", "Refund"},
	"menu.sale":     {"消费", "Sale"},
	"menu.void":     {"撤销", "Void"},
	"menu.return":   {"退货", "Refund"},
	"menu.balance":  {"余额查询", "Balance"},
	"menu.signon":   {"签到", "Sign-on"},
	"menu.later":    {"（后续版本）", "(coming later)"},
	"menu.notyet":   {"%s 将在后续版本提供", "%s comes in a later version"},
	"menu.nosuch":   {"没有菜单项 %s", "No menu item %s"},
	"menu.cardname": {"银联 UnionPay", "UnionPay"},

	"amount.title":     {"请输入金额", "Enter the amount"},
	"amount.digits":    {"只能输入数字", "Digits only"},
	"amount.zero":      {"金额不能为零", "The amount cannot be zero"},
	"amount.over":      {"超过单笔限额 %s", "Over the limit of %s per payment"},
	"amount.daily":     {"超过今日余额 %s", "Over what is left today: %s"},
	"amount.max":       {"金额位数已满", "No more digits"},
	"amount.offline":   {"服务器离线，现在无法收款", "Server offline: payments cannot be taken now"},
	"amount.limitinfo": {"单笔限额 %s", "Limit %s per payment"},

	"qr.title":      {"请顾客扫码付款", "Ask the customer to scan"},
	"qr.creating":   {"正在创建订单…", "Creating the order…"},
	"qr.amount":     {"金额", "Amount"},
	"qr.order":      {"订单号", "Order"},
	"qr.expires":    {"剩余时间", "Expires in"},
	"qr.waiting":    {"等待顾客付款", "Waiting for the customer"},
	"qr.closing":    {"正在关闭订单…", "Closing the order…"},
	"qr.closefail":  {"关闭订单失败：%s。按 %s 重试", "Could not close the order: %s. Press %s to retry"},
	"qr.offline":    {"服务器离线，订单未创建", "Server offline: no order was created"},
	"qr.failed":     {"订单未创建：%s", "The order was not created: %s"},
	"qr.reconnect":  {"连接中断，正在重试…", "Link lost, retrying…"},
	"qr.unknown":    {"渠道未应答，正在确认结果…", "No answer from the channel, checking…"},
	"qr.toobig":     {"二维码内容过长，无法显示", "The QR content is too long to draw"},
	"qr.closed":     {"订单已关闭", "Order closed"},
	"qr.stillopen":  {"渠道仍显示订单未关闭", "the wallet still shows the order open"},
	"qr.leftopen":   {"无法确认订单已关闭；二维码已失效，服务器将自动关闭该订单", "Could not confirm the close; the code is no longer valid and the server closes the order itself"},
	"qr.notcreated": {"订单未创建，未收款", "No order was created; nothing was charged"},
	"trainer.pays":  {"顾客付款", "customer pays"},
	"trainer.decl":  {"顾客拒付", "customer declines"},
	"trainer.card":  {"插入测试卡", "insert test card"},
	"trainer.error": {"演示操作失败：%s", "Trainer action failed: %s"},

	"card.title":      {"请刷卡或插卡", "Swipe or insert the card"},
	"card.noreader":   {"未配置读卡器", "No card reader configured"},
	"card.readfail":   {"读卡失败：%s，请重试", "Card read failed: %s. Try again"},
	"card.removed":    {"卡已拔出", "Card removed"},
	"card.choose":     {"选择测试卡：", "Choose a test card:"},
	"card.check":      {"请核对卡号", "Check the card number"},
	"card.number":     {"卡号", "Card"},
	"card.expiry":     {"有效期", "Expiry"},
	"card.badpan":     {"卡号无效，请换卡", "Invalid card number: use another card"},
	"card.pin":        {"请持卡人输入密码", "Cardholder: enter the PIN"},
	"card.pinlen":     {"密码为 %d-%d 位数字", "The PIN has %d to %d digits"},
	"card.pinshort":   {"密码太短：需 %d-%d 位数字", "PIN too short: %d to %d digits"},
	"card.pinfull":    {"密码最多 %d 位", "At most %d digits"},
	"card.processing": {"交易处理中，请稍候…", "Processing, please wait…"},
	"card.unknown":    {"未收到应答（%s），交易结果未知。按 %s 重发（同一凭证号，不会重复扣款），按 %s 向服务器查询", "No answer (%s): the outcome is unknown. Press %s to resend (same trace number, never charged twice) or %s to ask the server"},
	"card.checking":   {"正在向服务器查询交易结果…", "Asking the server what became of the sale…"},
	"card.notsent":    {"交易未到达服务器，未扣款", "The sale never reached the server: nothing was charged"},
	"card.nokey":      {"终端证书包中没有主密钥，无法受理银行卡", "The terminal bundle has no master key: cards cannot be taken"},
	"card.pinerror":   {"密码加密失败：%s", "PIN encryption failed: %s"},

	"result.paid":     {"支付成功", "Payment received"},
	"result.approved": {"交易成功", "Approved"},
	"result.declined": {"交易失败", "Declined"},
	"result.failed":   {"支付失败", "Payment failed"},
	"result.closed":   {"订单已关闭", "Order closed"},
	"result.expired":  {"二维码已过期，订单已关闭", "The QR code expired; the order is closed"},
	"result.custdecl": {"顾客拒绝付款", "The customer declined"},
	"result.chanerr":  {"渠道拒绝了请求", "The channel refused the request"},
	"result.unknown":  {"结果未知，服务器将向渠道确认，请勿重复收款", "Outcome unknown: the server will check with the channel. Do not charge again"},
	"result.tradeno":  {"交易号", "Trade no."},
	"result.auth":     {"授权码", "Auth code"},
	"result.rrn":      {"参考号", "Reference"},
	"result.trace":    {"凭证号", "Trace"},
	"result.next":     {"按 %s 打印小票", "Press %s to print the receipt"},
	"result.back":     {"按 %s 返回通道列表", "Press %s to return to the channel list"},
	"result.code":     {"应答码 %s", "response code %s"},

	"receipt.merchant":  {"商户存根", "Merchant copy"},
	"receipt.customer":  {"顾客联", "Customer copy"},
	"receipt.printing":  {"正在打印%s…", "Printing the %s…"},
	"receipt.printed":   {"%s已打印", "%s printed"},
	"receipt.saved":     {"已保存：%s", "Saved: %s"},
	"receipt.failed":    {"打印失败：%s", "Printing failed: %s"},
	"receipt.retry":     {"按 %s 重试，%s 跳过", "Press %s to retry, %s to skip"},
	"receipt.nextcopy":  {"按 %s 打印顾客联", "Press %s to print the customer copy"},
	"receipt.done":      {"按 %s 返回通道列表", "Press %s to return to the channel list"},
	"receipt.noprinter": {"未配置打印机，小票仅在屏幕显示", "No printer configured: the receipt is shown on screen only"},
	"receipt.paperout":  {"打印机缺纸，请装纸", "Printer out of paper: load paper"},
	"receipt.coveropen": {"打印机盖未关", "Printer cover open: close it"},
	"receipt.offline":   {"打印机未连接", "Printer offline"},

	"status.online":     {"在线", "online"},
	"status.offline":    {"离线", "offline"},
	"status.connecting": {"连接中", "connecting"},
	"status.printer":    {"打印机", "printer"},
	"status.reader":     {"读卡器", "reader"},
	"status.ready":      {"就绪", "ready"},
	"status.none":       {"无", "none"},
	"status.card":       {"有卡", "card in"},
	"status.error":      {"故障", "error"},
	"status.paperout":   {"缺纸", "no paper"},
	"status.cover":      {"开盖", "cover open"},
	"status.poff":       {"离线", "offline"},

	"help.digits":      {"数字", "digits"},
	"help.confirm":     {"确认", "confirm"},
	"help.cancel":      {"取消", "cancel"},
	"help.back":        {"返回", "back"},
	"help.delete":      {"删除", "delete"},
	"help.lang":        {"English", "中文"},
	"help.symbol":      {"00", "00"},
	"help.quit":        {"退出", "quit"},
	"help.select":      {"选择", "select"},
	"help.retry":       {"重试", "retry"},
	"help.print":       {"打印", "print"},
	"help.scroll":      {"滚动", "scroll"},
	"help.move":        {"移动", "move"},
	"help.leave":       {"离开", "leave"},
	"help.check":       {"查询", "check"},
	"colon":            {"：", ": "},
	"quit.busy":        {"交易进行中，请先完成或取消", "A payment is in progress: finish or cancel it first"},
	"err.timeout":      {"服务器未及时应答", "The server did not answer in time"},
	"err.other":        {"与服务器通信出错", "Talking to the server failed"},
	"err.disabled":     {"该通道未对本终端开通", "This channel is disabled for this terminal"},
	"err.terminal":     {"终端 %s 未在服务器登记，请联系管理员", "Terminal %s is not registered at the server: ask the operator"},
	"err.disabledterm": {"本终端已被服务器停用，请联系管理员", "This terminal is disabled at the server: ask the operator"},
	"err.retired":      {"本终端的证书已被更换，请安装新的终端证书包", "This terminal's certificate was replaced: install its new bundle"},
	"err.cert":         {"证书校验失败（服务器或本终端的证书不被接受）", "Certificate check failed (the server's or this terminal's certificate was refused)"},
	"err.salepaid":     {"该笔销售已付款", "This sale is already paid"},
	"err.salebusy":     {"该笔销售还有未完成的支付", "This sale has a payment still open"},
	"err.conflict":     {"请求号或凭证号已用于另一笔交易", "This request or trace number was already used for another payment"},
	"err.channel":      {"支付渠道出错，请稍后再试", "The payment channel failed: try again later"},
	"err.notfound":     {"服务器上没有此交易", "The server has no such transaction"},
	"err.bad":          {"请求被服务器拒绝：%s", "The server refused the request: %s"},
	"err.server":       {"服务器错误（%s）", "Server error (%s)"},
	"channels.loading": {"正在获取限额…", "Loading limits…"},
	"channels.unseen":  {"未确认的交易结果：", "Results this station never showed:"},
	"state.SUCCESS":    {"成功", "paid"},
	"state.FAILED":     {"失败", "failed"},
	"state.CLOSED":     {"已关闭", "closed"},
}

// T returns the text for key in lang; an unknown key shows itself so a
// missing entry is visible on screen and in goldens rather than blank.
func T(lang i18n.Lang, key string) string {
	t, ok := texts[key]
	if !ok {
		return key
	}
	if lang == i18n.EN {
		return t[1]
	}
	return t[0]
}

// Tf formats the text for key in lang.
func Tf(lang i18n.Lang, key string, args ...any) string {
	return fmt.Sprintf(T(lang, key), args...)
}
