package bank

import (
	"errors"
	"fmt"

	"github.com/moov-io/iso8583"

	"github.com/multipos/multipos/cardkeys"
)

// SignMessage sets field 64 of msg to the MAC of msg packed (see package
// cardkeys for the algorithm): it packs once with a zero placeholder (so bit
// 64 is in the bitmap the MAC covers), then stores the MAC.
func SignMessage(k *cardkeys.MACKey, msg *iso8583.Message) error {
	if err := msg.BinaryField(64, make([]byte, cardkeys.MACSize)); err != nil {
		return fmt.Errorf("bank: set field 64: %w", err)
	}
	packed, err := msg.Pack()
	if err != nil {
		return fmt.Errorf("bank: pack for MAC: %w", err)
	}
	if err := k.SignBytes(packed); err != nil {
		return err
	}
	return msg.BinaryField(64, packed[len(packed)-cardkeys.MACSize:])
}

// VerifyMessage checks field 64 of msg (as unpacked from the wire; Spec
// packs exactly back to the bytes it was read from).
func VerifyMessage(k *cardkeys.MACKey, msg *iso8583.Message) error {
	if f := msg.GetField(64); f == nil {
		return errors.New("bank: message has no field 64")
	}
	packed, err := msg.Pack()
	if err != nil {
		return fmt.Errorf("bank: pack for MAC: %w", err)
	}
	return k.VerifyBytes(packed)
}
