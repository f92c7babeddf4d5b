package posclient

import (
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/cardkeys"
	"github.com/multipos/multipos/cards"
)

// ErrNotSignedOn is returned by CardKeys before a sign-on (签到).
var ErrNotSignedOn = errors.New("not signed on for card payments: sign on (签到) first")

// ErrBadMAC is returned when the server's answer about a card payment does
// not carry the MAC of this terminal's key: it is not believed.
var ErrBadMAC = errors.New("the answer's MAC does not check")

// CardKeys are the terminal's side of the card keys: the master key from
// its bundle, and the PIN and MAC working keys of its last sign-on, which
// live in memory only. Safe for concurrent use.
type CardKeys struct {
	master []byte

	mu       sync.RWMutex
	pin      []byte
	mac      *cardkeys.MACKey
	signedAt time.Time
}

// NewCardKeys returns the keys of a terminal with master key tmk (16 or 24
// bytes), not yet signed on.
func NewCardKeys(tmk []byte) *CardKeys {
	return &CardKeys{master: append([]byte(nil), tmk...)}
}

// Install decrypts the keys of a sign-on answer under the master key and
// checks them against their check values.
func (k *CardKeys) Install(s api.SignedOn) error {
	raw, err := hex.DecodeString(s.Keys)
	if err != nil {
		return fmt.Errorf("sign-on answer: keys are not hex: %w", err)
	}
	wk, err := cardkeys.DecodeWorkingKeys(k.master, raw)
	if err != nil {
		return fmt.Errorf("sign-on answer: %w", err)
	}
	mk, err := cardkeys.NewMACKey(wk.MAC)
	if err != nil {
		return fmt.Errorf("sign-on answer: %w", err)
	}
	k.mu.Lock()
	k.pin, k.mac, k.signedAt = wk.PIN, mk, s.SignedOnAt
	k.mu.Unlock()
	return nil
}

// SignedOn reports whether working keys are installed, and since when.
func (k *CardKeys) SignedOn() (time.Time, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.signedAt, k.mac != nil
}

// Forget drops the working keys (the server said they are stale).
func (k *CardKeys) Forget() {
	k.mu.Lock()
	k.pin, k.mac, k.signedAt = nil, nil, time.Time{}
	k.mu.Unlock()
}

// EncryptPIN builds the ISO 9564 format 0 block of pin for pan under the
// PIN working key. The caller wipes pin afterwards.
func (k *CardKeys) EncryptPIN(pin []byte, pan string) ([8]byte, error) {
	k.mu.RLock()
	key := k.pin
	k.mu.RUnlock()
	if key == nil {
		return [8]byte{}, ErrNotSignedOn
	}
	return cards.EncryptPIN(key, pin, pan)
}

// Sign sets the MAC of a card sale.
func (k *CardKeys) Sign(s *api.CardSale) error {
	mac, err := k.sum(s.MACData())
	if err != nil {
		return err
	}
	s.MAC = mac
	return nil
}

// Verify checks the MAC of the server's answer about a card order.
func (k *CardKeys) Verify(o api.Order) error {
	want, err := k.sum(o.MACData())
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToUpper(o.MAC))) != 1 {
		return fmt.Errorf("order %s: %w", o.ID, ErrBadMAC)
	}
	return nil
}

func (k *CardKeys) sum(data []byte) (string, error) {
	k.mu.RLock()
	mk := k.mac
	k.mu.RUnlock()
	if mk == nil {
		return "", ErrNotSignedOn
	}
	s := mk.Compute(data)
	return strings.ToUpper(hex.EncodeToString(s[:])), nil
}
