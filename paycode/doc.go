// Package paycode tells which wallet a customer-presented payment code
// (付款码) belongs to, from the digits alone: the cashier scans the code on
// the customer's phone, and the code, not the cashier, decides the channel.
// A code is one wallet's only: it is never sent to the other.
package paycode
