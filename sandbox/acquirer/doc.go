// Package acquirer is an in-process stand-in for the acquiring bank behind
// connector.Acquirer, so that card sales can run end to end with no bank
// link: it knows a handful of test cards (one for each outcome a cashier and
// a trainer need to see), checks the expiry, decrypts the PIN block with the
// terminal's PIN key and compares the PIN, and answers with ISO 8583 response
// codes. A later issue replaces it with a host speaking ISO 8583 with MACs.
//
// The stand-in keeps a ledger of what it approved, with masked card numbers
// only, as the bank's side of the reconciliation and for tests.
package acquirer
