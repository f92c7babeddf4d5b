// Package wedge tells a keyboard-wedge barcode scanner from the cashier's
// hands. The scanner at the counter is a keyboard as far as the terminal is
// concerned: it types the code on the customer's phone, digit by digit, and
// Enter. It types far faster than any person, so a run of digits arriving
// closer together than a hand can type, ended by Enter, is a scan; anything
// else is typing. Digits are held back for one gap's length to tell, which
// no one notices at the keyboard, so a scan never lands in an amount field
// or picks a menu item.
package wedge
