package tui

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/mdp/qrterminal/v3"
	"rsc.io/qr"
)

// renderQR draws content as a QR code in half blocks (two modules per text
// line), into a string and never to stdout: qrterminal.Generate would query
// the terminal behind Bubble Tea's back.
func renderQR(content string) (string, error) {
	// GenerateWithConfig ignores encoding errors and panics on content that
	// does not fit a QR code, so check first.
	if _, err := qr.Encode(content, qr.L); err != nil {
		return "", fmt.Errorf("encode QR: %w", err)
	}
	var buf bytes.Buffer
	qrterminal.GenerateWithConfig(content, qrterminal.Config{
		Level:          qrterminal.L,
		Writer:         &buf,
		HalfBlocks:     true,
		BlackChar:      qrterminal.BLACK_BLACK,
		WhiteChar:      qrterminal.WHITE_WHITE,
		WhiteBlackChar: qrterminal.WHITE_BLACK,
		BlackWhiteChar: qrterminal.BLACK_WHITE,
		QuietZone:      2,
	})
	return strings.TrimRight(buf.String(), "\n"), nil
}

// RenderQR draws a QR code as the QR screen does, for benchmarks of what
// the cashier waits for.
func RenderQR(content string) (string, error) { return renderQR(content) }
