// Package pcsc is the chip card reader driver for real PC/SC readers (USB
// CCID readers, and vsmartcard's vpcd in tests), through pcscd and
// libpcsclite via github.com/ebfe/scard.
//
// Reader implements devices.CardReader: it watches every reader (or those
// whose name contains a filter) with SCardGetStatusChange, including the
// PnP pseudo-reader so that readers plugged in later are picked up, reads
// an inserted card with cards/emv and reports CardInserted, CardReadError,
// CardRemoved, ReaderAdded and ReaderRemoved. It keeps running when pcscd is
// not (yet) running and connects once it is.
//
// Doctor is the installer's check: it lists the readers, their state and,
// for a card in one, the application and masked card number it reads, in
// Chinese and English.
//
// State words from pcscd carry an event counter in their upper 16 bits, so
// the code tests flag bits and never compares whole words. The full PAN
// goes only into the card handed to the caller: errors and logs carry the
// masked number at most.
package pcsc
