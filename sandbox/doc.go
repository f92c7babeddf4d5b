// Package sandbox assembles the stand-ins posserver runs on until the real
// connectors land: the Alipay and WeChat Pay wallets (sandbox/wallet) and the
// acquiring bank (sandbox/acquirer), wired to the terminals' PIN keys. Both
// the standalone posserver and demo mode use it.
package sandbox
