// Package sandbox assembles the stand-ins training runs on: the Alipay and
// WeChat Pay wallets (sandbox/alipay, sandbox/wechat; sandbox/wallet for
// the load test) and the acquiring bank (sandbox/acquirer), wired to the
// terminals' PIN keys. `pos --demo` uses it, and posserver in demo mode
// (`serve --demo`, or demo = true) for the channels without their section;
// outside demo mode posserver never starts one.
package sandbox
