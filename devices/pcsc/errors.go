package pcsc

import (
	"errors"
	"fmt"

	"github.com/ebfe/scard"
)

// Errors the package wraps (test with errors.Is). Their text is English;
// Message gives the Chinese and English lines for the cashier.
var (
	ErrNoService = errors.New("pcscd is not running (PC/SC service not available)")
	ErrNoReader  = errors.New("no card reader found")
	ErrCardMute  = errors.New("the card does not answer (check it is inserted chip first, face up)")
	ErrCardRead  = errors.New("the card could not be read")
)

// Message returns what to tell the cashier about err, in Simplified Chinese
// and in English.
func Message(err error) (zh, en string) {
	switch {
	case err == nil:
		return "", ""
	case errors.Is(err, ErrNoService):
		return "读卡服务 pcscd 未运行（请启动 pcscd 服务）", "pcscd is not running (start the pcscd service)"
	case errors.Is(err, ErrNoReader):
		return "未找到读卡器（请检查读卡器连接）", "no card reader found (check the reader is plugged in)"
	case errors.Is(err, ErrCardMute):
		return "卡片无响应（请芯片朝前、正面朝上插卡）", "the card does not answer (insert it chip first, face up)"
	default:
		return "读卡失败，请重新插卡或改用刷卡", "the card could not be read: insert it again or swipe it"
	}
}

// serviceErr turns a failure to reach pcscd into ErrNoService, keeping the
// library's text ("scard: Service not available.") for the log.
func serviceErr(op string, err error) error {
	if errors.Is(err, scard.ErrNoService) || errors.Is(err, scard.ErrServiceStopped) {
		return fmt.Errorf("%w: %s: %w", ErrNoService, op, err)
	}
	if errors.Is(err, scard.ErrNoReadersAvailable) {
		return fmt.Errorf("%w: %s: %w", ErrNoReader, op, err)
	}
	return fmt.Errorf("pcsc: %s: %w", op, err)
}
