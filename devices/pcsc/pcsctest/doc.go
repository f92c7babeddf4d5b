// Package pcsctest runs a private pcscd with the vpcd virtual reader driver
// for the tests of one test binary, so that code using real PC/SC (through
// libpcsclite) can be tested end to end with virtual cards from
// sandbox/emvcard and without touching the host's pcscd or network.
//
// pcscd runs in its own mount and network namespaces (unshare, as root). Its
// socket directory is a temporary host directory bind-mounted over
// /run/pcscd inside the namespace; the test process, outside, reaches it
// through PCSCLITE_CSOCK_NAME. The client library reads that variable once,
// at the first SCardEstablishContext, so a test binary gets one pcscd: Start
// returns the same Rig every time, and Main stops it when the tests end.
// vpcd listens on 127.0.0.1:35963/35964 inside the namespace, where cards
// are dialed from a thread that has joined it.
//
// Needed: root and the Debian packages pcscd, vsmartcard-vpcd, util-linux
// and iproute2. Without them Start fails the test, saying what to install.
package pcsctest
