// Package posclient is the station's client of posserver, through which
// every channel's payment goes: the HTTPS client of the terminal API
// (package api) over mutual TLS from the terminal's bundle; the terminal's
// card keys (CardKeys: the working keys of its last sign-on, in memory
// only, for PIN blocks and the MAC of card sales and of the server's
// answers); its trace numbers (Traces), kept in step with the server's;
// and the cashier's text of a bank response code.
//
// It links nothing of the server: the wire types (api), the bundle
// (bundle) and the key and MAC rules (cardkeys) are packages of their own
// that both sides use.
package posclient
