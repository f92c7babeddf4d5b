// Package power reads whether the counter PC runs on mains or on battery,
// and how full the battery is, for the cashier's status bar: a laptop used as
// a station (the patent's battery-powered terminal) should warn before it
// dies in the middle of a payment. Linux reports power supplies under
// /sys/class/power_supply; a PC without any shows nothing.
package power
