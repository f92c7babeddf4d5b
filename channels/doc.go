// Package channels is the terminal's multi-channel unit (patent part 37): the
// client of posserver's terminal API that every channel's payment goes through,
// the terminal's trace numbers, and the per-channel limits as the terminal
// checks them before a payment is sent.
package channels
