// Package magstripe reads bank cards swiped through a keyboard-wedge
// magnetic stripe reader. Such a reader is a keyboard as far as the terminal
// is concerned: on a swipe it types track 1 (%B…?) and/or track 2 (;…?),
// maybe each followed by Enter, into whatever has focus.
//
// Two parts:
//
//   - Detector tells that burst from the cashier's typing, by its speed and
//     its sentinels, so the card data never lands in an input field, is never
//     echoed and never picks a menu item.
//   - Parse turns the burst into a Swipe: card number, expiry, service code,
//     name and the track 2 equivalent data that ISO 8583 field 35 carries.
//
// With a barcode scanner on the same keyboard (devices/wedge), keys go
// through this package's Detector first and what it hands back as typed
// goes on to wedge's; see Detector.
//
// A Swipe whose service code starts with 2 or 6 belongs to a chip card:
// ChipCard reports it, and the cashier must have the card inserted instead
// (falling back to the stripe on such a card invites fraud liability).
//
// Card data is sensitive: a Swipe prints and logs itself with the number
// masked (621234******0001), and no error from this package contains card
// data, so errors can be logged and shown as they are.
package magstripe
