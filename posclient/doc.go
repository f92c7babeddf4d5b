// Package posclient is the station's client of posserver, through which
// every channel's payment goes: the HTTPS client of the terminal API
// (package api) over mutual TLS from the terminal's bundle; the terminal's
// card keys (CardKeys: the working keys of its last sign-on, in memory
// only, for PIN blocks and the MAC of card sales and of the server's
// answers); its trace numbers (Traces), kept in step with the server's
// batch and next trace by every answer (a settlement's answer moves them
// into the new batch); the card batch settlement (Settle, 结算, idempotent
// on its request id; Settlement, how a batch settled already was), with
// the refusals a station acts on typed (BatchMovedError, ErrSettling);
// and the cashier's text of a bank response code.
//
// It links nothing of the server: the wire types (api), the bundle
// (bundle) and the key and MAC rules (cardkeys) are packages of their own
// that both sides use.
package posclient
