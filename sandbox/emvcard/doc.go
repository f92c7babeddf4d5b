// Package emvcard is a virtual EMV chip card for tests, demos and the
// reader doctor. It answers the commands a payment terminal sends before
// GENERATE AC (SELECT of the PPSE, PSE and applications, GET PROCESSING
// OPTIONS, READ RECORD, GET RESPONSE) from card data given in Go, so that
// the real reader code (cards/emv, devices/pcsc) runs end to end with no
// hardware.
//
// It can be used two ways. In process, a *Card is an emv.Card: the demo's
// simulated reader hands it straight to emv.Read. Over PC/SC, Insert dials
// vsmartcard's vpcd driver inside pcscd (the card is the TCP client, which is
// vpcd's default mode) and serves its framing until Remove, so pcscd sees a
// card in "Virtual PCD 00 00".
//
// Options reproduce what real cards do differently and what reader code
// must cope with: T=0 transport replies (61xx, 6Cxx), a contact card without
// a PPSE, a card with no directory at all (found only through the terminal's
// AID list), several applications with priorities, and a broken card that
// answers garbage.
//
// The card data is made up: never put a real card number in a test.
package emvcard
