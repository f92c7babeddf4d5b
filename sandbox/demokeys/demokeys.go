// Package demokeys holds the sandboxes' own RSA keys: the Alipay app and
// platform keys and the WeChat Pay merchant and platform keys the wallet
// sandboxes sign with. They are for the sandboxes only, never a real
// merchant's; shipping them spares every demo start four RSA key
// generations.
package demokeys

import "embed"

// FS holds the keys as name.pem: alipay_app, alipay_platform,
// wechat_merchant and wechat_platform.
//
//go:embed *.pem
var FS embed.FS
