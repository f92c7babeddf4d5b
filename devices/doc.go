// Package devices defines the terminal's hardware as the cashier app sees it:
// card readers that report insert, remove and swipe events, and receipt
// printers that print a receipt or say why they cannot. Implementations live
// in sub-packages: sim (demo mode), power (battery and AC state); PC/SC chip
// readers, keyboard-wedge magstripe readers and ESC/POS printers come in their
// own packages behind the same interfaces.
package devices
