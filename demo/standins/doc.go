// Package standins starts the sandboxes (package sandbox's subpackages)
// and wires posserver's real connectors to them, for everything that runs
// without a real wallet or bank: `pos --demo` (package demo), posserver in
// demo mode (`serve --demo`, or demo = true, for each channel without its
// section), `posserver sandbox`, the load test and the server's tests.
// Outside demo mode posserver never starts one.
//
//   - StartWallets: the Alipay and WeChat Pay sandboxes on loopback HTTP
//     and the real connectors pointed at them, with the sandboxes' own keys
//     (WriteClientFiles and WriteServerFiles write the configuration a
//     separate posserver needs to use them); the connectors move a QR
//     code's expiry onto the sandbox's business clock, which a trainer's
//     end of the day advances;
//   - StartBank: the acquirer host on a loopback port and posserver's real
//     ISO 8583 link to it; BundleKeys gives the host the terminals' master
//     keys from their bundles, as a bank gets them out of band;
//   - New: the in-process wallet stand-ins (sandbox/wallet) of the load
//     test.
//
// It is server-side wiring: the station's demo uses it through package
// demo, and posserver imports it without the cashier app's screens.
package standins
