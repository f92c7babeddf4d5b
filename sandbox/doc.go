// Package sandbox holds nothing itself: its subpackages are the stand-ins
// for what multipos talks to outside the shop, each faithful to the real
// thing's protocol so that the real client code runs against it.
//
//   - alipay, wechat: the Alipay open platform and WeChat Pay API v3 on
//     loopback HTTP, with signed answers and notifications and control
//     endpoints for faults;
//   - acquirer: the card acquirer's ISO 8583 host on TCP (sign-on keys,
//     MACs, PIN blocks, reversals, settlement files);
//   - emvcard: a virtual EMV chip card behind a PC/SC reader;
//   - netprinter: a TCP 9100 receipt printer that decodes what it prints;
//   - wallet: a fast in-process wallet behind connector.Wallet, for the
//     load test and the server's unit tests;
//   - demokeys: the sandboxes' own RSA keys.
//
// Wiring them to posserver's real connectors (the demo, `posserver serve
// --demo`, `posserver sandbox`, the load test) is package demo/standins.
// Nothing here runs outside demo mode, tests and the sandbox command.
package sandbox
