// Package connector is the seam between posserver and the outside world:
// one Wallet per wallet channel (Alipay, WeChat Pay) and one Acquirer for bank
// cards. The real protocol connectors implement them (alipay: Alipay
// OpenAPI, wechat: WeChat Pay v3, bank: ISO 8583 to the acquirer), as does
// sandbox/wallet, the fast in-process wallet of the load test and unit tests.
package connector
