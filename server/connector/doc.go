// Package connector is the seam between posserver and the outside world:
// one Wallet per wallet channel (Alipay, WeChat Pay) and one Acquirer for bank
// cards. The stand-ins in sandbox/ implement it today; the real protocol
// connectors (Alipay OpenAPI, WeChat Pay v3, ISO 8583) plug in behind the same
// interfaces.
package connector
