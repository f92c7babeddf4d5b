// Package sim provides the demo-mode devices: a card reader that a trainer
// (or a test) drives by hand, and a printer that saves each receipt as a
// text file. They let the whole product be demonstrated and tested with no
// hardware, and they fail on demand (read errors, paper out, cover open) so
// that trainers can show, and tests can prove, how the app recovers.
package sim
