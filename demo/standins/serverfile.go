package standins

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// ServerFiles says where the posserver that WriteServerFiles configures
// reaches what the sandboxes cannot guess.
type ServerFiles struct {
	// Notify is posserver's notify listener as the wallets reach it,
	// host:port ("" = 127.0.0.1:8480): notify_listen and the notify_urls.
	Notify string
	// Bank is the acquirer host's ISO 8583 address ("" = no [bank] section).
	Bank string
	// BankTimeout, when set, is written as bank.timeout.
	BankTimeout time.Duration
}

// defaultNotify is the notify address WriteClientFiles writes.
const defaultNotify = "127.0.0.1:8480"

// WriteServerFiles is WriteClientFiles with the notify address chosen
// and, when there is a bank, a [bank] section after the wallets': the
// whole of what a posserver needs to run on the sandboxes. It returns the
// TOML file's path.
func (w *Wallets) WriteServerFiles(dir string, f ServerFiles) (string, error) {
	path, err := w.WriteClientFiles(dir)
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("sandbox files: %w", err)
	}
	text := string(b)
	if f.Notify != "" {
		text = strings.ReplaceAll(text, defaultNotify, f.Notify)
	}
	if f.Bank != "" {
		text += fmt.Sprintf("\n# The stand-in acquirer host; for a real bank, its front end's address.\n[bank]\naddr = %q\n", f.Bank)
		if f.BankTimeout > 0 {
			text += fmt.Sprintf("timeout = %q\n", f.BankTimeout.String())
		}
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return "", fmt.Errorf("sandbox files: %w", err)
	}
	return path, nil
}
