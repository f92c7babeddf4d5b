// Package money holds amounts of Chinese yuan as whole fen (0.01 CNY).
//
// Every amount in multipos is a Fen: an int64 count of fen. Floating point
// never touches money; text in yuan ("12.34") is parsed and printed here.
package money
