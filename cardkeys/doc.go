// Package cardkeys is what a card terminal and its acquirer share besides
// the message layout: the working keys of a sign-on (the PIN and MAC keys
// encrypted under the terminal master key, each with its check value), the
// key check value people compare (KCV), and the ANSI X9.19 retail MAC.
//
// The station (posclient) MACs its card sales and checks the server's
// answers with it, the server's bank connector (server/connector/bank)
// MACs ISO 8583 messages with it, and the acquirer sandbox plays the bank's
// side of it. It belongs to none of them and links no ISO 8583 library.
//
// Keys live in memory only; nothing here logs or stores them.
package cardkeys
