// Package cards holds what the terminal and the server know about a bank card
// and the rules for handling it safely: masking the card number (first 6 and
// last 4 digits), the Luhn check, and the ISO 9564 format 0 PIN block
// encrypted under the terminal's PIN key.
//
// A Card prints and logs itself masked, so that the full number or the track
// data cannot reach a log or a receipt by accident.
package cards
