// Package netprinter is a receipt printer on raw TCP (port 9100, "JetDirect")
// for tests and the demo. It reads the ESC/POS stream as a printer would,
// keeps each piece of paper it printed as decoded text, answers DLE EOT
// status queries from its state, and does on command what real printers
// do at the counter: run out of paper (at once, or after so many more
// lines, tearing the receipt in the middle), open the cover, or go away
// (switched off, cable pulled) and come back on the same address.
package netprinter
