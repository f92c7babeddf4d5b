package standins

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/internal/privfile"
	alipaysb "github.com/multipos/multipos/sandbox/alipay"
	"github.com/multipos/multipos/sandbox/demokeys"
	wechatsb "github.com/multipos/multipos/sandbox/wechat"
	"github.com/multipos/multipos/server/connector"
	alipayconn "github.com/multipos/multipos/server/connector/alipay"
	wechatconn "github.com/multipos/multipos/server/connector/wechat"
)

// The sandboxes' identities. Their keys are in sandbox/demokeys, for the
// sandboxes only (never a real merchant's).
const (
	AlipayAppID       = "2021000000000001"
	WeChatMchID       = "1900000001"
	WeChatAppID       = "wx8888888888888888"
	WeChatSerial      = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
	WeChatPublicKeyID = "PUB_KEY_ID_0119000000012025112500000000000001"
	WeChatAPIv3Key    = "multiposSandboxAPIv3Key000000000" // 32 bytes
)

// Wallets are the Alipay and WeChat Pay sandboxes, speaking the real
// protocols on a loopback HTTP server, and posserver's real connectors
// pointed at them: what demo mode runs a wallet without its [alipay] or
// [wechat] section on. Payment results come back as the real services send
// them: signed notifications to the notify URLs.
type Wallets struct {
	Alipay     *alipaysb.Sandbox
	WeChat     *wechatsb.Sandbox
	AlipayConn *alipayconn.Connector
	WeChatConn *wechatconn.Connector
	AlipayURL  string // the Alipay sandbox: /gateway.do, /control/…
	WeChatURL  string // the WeChat Pay sandbox: /v3/…, /control/…

	srvs []*http.Server
	now  func() time.Time
}

// fullWallet is what both connectors are.
type fullWallet interface {
	connector.Wallet
	connector.BarcodeWallet
	connector.Refunder
}

// shifted moves a QR code's expiry from the server's clock onto the
// sandbox's business clock, which a test's fixed clock or a trainer's end
// of the day (Advance) puts elsewhere.
type shifted struct {
	fullWallet
	now, sandbox func() time.Time
}

func (s shifted) Precreate(ctx context.Context, req connector.Precreate) (string, error) {
	if !req.ExpiresAt.IsZero() {
		req.ExpiresAt = s.sandbox().Add(req.ExpiresAt.Sub(s.now()))
	}
	return s.fullWallet.Precreate(ctx, req)
}

// WalletOptions configure StartWallets.
type WalletOptions struct {
	// AlipayListen and WeChatListen are the sandboxes' addresses; "" = a
	// free loopback port. (Two: WeChat Pay's API is at the root of its host.)
	AlipayListen, WeChatListen string
	// NotifyBase is posserver's notify listener, where the connectors
	// have the wallets post results (…/notify/alipay and …/notify/wechat
	// are appended); "" = no connectors, the sandboxes alone.
	NotifyBase string
	Logger     *slog.Logger
	// NotifySchedule, when set, replaces both wallets' real retry cadence.
	NotifySchedule []time.Duration
	// Notifications, when set, delivers the notifications (a benchmark
	// times them on the way out).
	Notifications *http.Client
	// Now is the server's clock when it is not the real one (a trainer's
	// or a test's fixed clock). The sandboxes keep real time, which the
	// SDKs check signatures against, so code expiry times are moved onto
	// it on the way.
	Now func() time.Time
}

// StartWallets starts the sandboxes and builds the connectors.
func StartWallets(ctx context.Context, o WalletOptions) (*Wallets, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	keys := map[string]*rsa.PrivateKey{}
	for _, name := range []string{"alipay_app", "alipay_platform", "wechat_merchant", "wechat_platform"} {
		k, err := demoKey(name)
		if err != nil {
			return nil, err
		}
		keys[name] = k
	}
	w := &Wallets{now: o.Now}
	w.Alipay = alipaysb.New(alipaysb.Options{AppID: AlipayAppID, AppPublicKey: &keys["alipay_app"].PublicKey,
		PrivateKey: keys["alipay_platform"], Logger: o.Logger.With("sandbox", "alipay"),
		NotifySchedule: o.NotifySchedule, HTTPClient: o.Notifications})
	w.WeChat = wechatsb.New(wechatsb.Options{MchID: WeChatMchID, AppID: WeChatAppID,
		MerchantPublicKey: &keys["wechat_merchant"].PublicKey, MerchantSerial: WeChatSerial,
		PrivateKey: keys["wechat_platform"], PublicKeyID: WeChatPublicKeyID, APIv3Key: WeChatAPIv3Key,
		Logger: o.Logger.With("sandbox", "wechat"), NotifySchedule: o.NotifySchedule, HTTPClient: o.Notifications})
	var err error
	if w.AlipayURL, err = w.serve(o.AlipayListen, w.Alipay.Handler(), o.Logger); err != nil {
		w.Close()
		return nil, err
	}
	if w.WeChatURL, err = w.serve(o.WeChatListen, w.WeChat.Handler(), o.Logger); err != nil {
		w.Close()
		return nil, err
	}
	if o.NotifyBase == "" {
		return w, nil // the sandboxes alone, for clients elsewhere
	}
	base := strings.TrimSuffix(o.NotifyBase, "/")
	if w.AlipayConn, err = alipayconn.New(alipayconn.Config{AppID: AlipayAppID, PrivateKeyPEM: demoPEM("alipay_app"),
		AlipayPublicKeyPEM: w.Alipay.PublicKeyPEM(), Gateway: w.AlipayURL + "/gateway.do",
		NotifyURL: base + "/notify/alipay"}, o.Logger); err != nil {
		w.Close()
		return nil, fmt.Errorf("alipay connector: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(w.WeChat.PublicKey())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("wechat sandbox key: %w", err)
	}
	if w.WeChatConn, err = wechatconn.New(ctx, wechatconn.Config{MchID: WeChatMchID, AppID: WeChatAppID,
		MerchantSerial: WeChatSerial, MerchantPrivateKeyPEM: demoPEM("wechat_merchant"), APIv3Key: WeChatAPIv3Key,
		PublicKeyID: WeChatPublicKeyID, WechatPayPublicKeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}),
		Endpoint: w.WeChatURL, NotifyURL: base + "/notify/wechat"}, o.Logger); err != nil {
		w.Close()
		return nil, fmt.Errorf("wechat connector: %w", err)
	}
	return w, nil
}

// serve runs h on addr (a free loopback port when empty) and returns its URL.
func (w *Wallets) serve(addr string, h http.Handler, log *slog.Logger) (string, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("wallet sandbox: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	w.srvs = append(w.srvs, srv)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("wallet sandbox stopped", "err", err)
		}
	}()
	return "http://" + ln.Addr().String(), nil
}

// Connectors is the server's wallet connector table.
func (w *Wallets) Connectors() map[api.Channel]connector.Wallet {
	now := w.now
	if now == nil {
		now = time.Now
	}
	return map[api.Channel]connector.Wallet{api.Alipay: shifted{w.AlipayConn, now, w.Alipay.Now},
		api.WeChat: shifted{w.WeChatConn, now, w.WeChat.Now}}
}

// NotifyHandler serves the wallets' notifications to n, as posserver's
// notify listener does: /notify/alipay and /notify/wechat.
func (w *Wallets) NotifyHandler(n connector.Notifier) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/notify/alipay", w.AlipayConn.NotifyHandler(n))
	mux.Handle("/notify/wechat", w.WeChatConn.NotifyHandler(n))
	return mux
}

// Close stops the sandboxes.
func (w *Wallets) Close() {
	for _, srv := range w.srvs {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = srv.Shutdown(ctx)
		cancel()
	}
	if w.Alipay != nil {
		w.Alipay.Close()
	}
	if w.WeChat != nil {
		w.WeChat.Close()
	}
}

// CustomerPays plays the customer paying: scanning a QR code and paying,
// or confirming a scanned payment code on the phone.
func (w *Wallets) CustomerPays(ctx context.Context, ch api.Channel, outTradeNo string) error {
	switch ch {
	case api.Alipay:
		return w.Alipay.Pay(ctx, outTradeNo)
	case api.WeChat:
		return w.WeChat.Pay(outTradeNo)
	}
	return fmt.Errorf("no wallet sandbox for channel %q", ch)
}

// CustomerDeclines plays the customer refusing to pay.
func (w *Wallets) CustomerDeclines(ctx context.Context, ch api.Channel, outTradeNo string) error {
	switch ch {
	case api.Alipay:
		return w.Alipay.Decline(ctx, outTradeNo)
	case api.WeChat:
		return w.WeChat.Decline(outTradeNo)
	}
	return fmt.Errorf("no wallet sandbox for channel %q", ch)
}

// NextCode makes the next scanned payment code of the wallet pay at once,
// or only once the customer confirms on the phone.
func (w *Wallets) NextCode(ch api.Channel, confirm bool) error {
	switch ch {
	case api.Alipay:
		mode := alipaysb.PaidAtOnce
		if confirm {
			mode = alipaysb.NeedsConfirm
		}
		return w.Alipay.NextPay(alipaysb.PayOutcome{Mode: mode})
	case api.WeChat:
		out := wechatsb.CodePaid
		if confirm {
			out = wechatsb.CodeUserPaying
		}
		w.WeChat.NextCodepay(wechatsb.CodeBehavior{Outcome: out})
		return nil
	}
	return fmt.Errorf("no wallet sandbox for channel %q", ch)
}

func demoPEM(name string) []byte {
	b, err := demokeys.FS.ReadFile(name + ".pem")
	if err != nil {
		panic(fmt.Sprintf("sandbox: embedded key %s: %v", name, err)) // built in: cannot be missing
	}
	return b
}

func demoKey(name string) (*rsa.PrivateKey, error) {
	blk, _ := pem.Decode(demoPEM(name))
	if blk == nil {
		return nil, fmt.Errorf("sandbox key %s: not PEM", name)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("sandbox key %s: %w", name, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("sandbox key %s: not RSA", name)
	}
	return rk, nil
}

// WriteClientFiles writes what a posserver needs to use these sandboxes as
// its wallets, into dir: the merchant keys, the sandboxes' public keys, the
// APIv3 key, and posserver-wallets.toml, the [alipay] and [wechat]
// sections (absolute paths) to copy into posserver.toml. It returns the
// TOML file's path.
func (w *Wallets) WriteClientFiles(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("sandbox files: %w", err)
	}
	// Private keys: 0600 in a 0700 folder, also when rewriting older files.
	if err := privfile.MkdirAll(abs, nil); err != nil {
		return "", fmt.Errorf("sandbox files: %w", err)
	}
	wxPub, err := x509.MarshalPKIXPublicKey(w.WeChat.PublicKey())
	if err != nil {
		return "", fmt.Errorf("sandbox files: %w", err)
	}
	files := map[string][]byte{
		"alipay_app_private.pem":      demoPEM("alipay_app"),
		"alipay_public.pem":           w.Alipay.PublicKeyPEM(),
		"wechat_merchant_private.pem": demoPEM("wechat_merchant"),
		"wechat_pay_public.pem":       pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: wxPub}),
		"wechat_apiv3.key":            []byte(WeChatAPIv3Key + "\n"),
	}
	for name, data := range files {
		if err := privfile.WriteFile(filepath.Join(abs, name), data, nil); err != nil {
			return "", fmt.Errorf("sandbox files: %w", err)
		}
	}
	toml := fmt.Sprintf(`# posserver's wallets on the sandboxes of `+"`posserver sandbox`"+`: copy into posserver.toml.
# For the real services, set the real app id, merchant and keys, and
# delete gateway and endpoint (they default to Alipay's and WeChat Pay's).
notify_listen = "127.0.0.1:8480"

[alipay]
app_id = %q
private_key_file = %q
alipay_public_key_file = %q
gateway = %q
notify_url = "http://127.0.0.1:8480/notify/alipay"

[wechat]
mch_id = %q
app_id = %q
serial_no = %q
private_key_file = %q
apiv3_key_file = %q
public_key_id = %q
public_key_file = %q
endpoint = %q
notify_url = "http://127.0.0.1:8480/notify/wechat"
`, AlipayAppID, filepath.Join(abs, "alipay_app_private.pem"), filepath.Join(abs, "alipay_public.pem"), w.AlipayURL+"/gateway.do",
		WeChatMchID, WeChatAppID, WeChatSerial, filepath.Join(abs, "wechat_merchant_private.pem"), filepath.Join(abs, "wechat_apiv3.key"),
		WeChatPublicKeyID, filepath.Join(abs, "wechat_pay_public.pem"), w.WeChatURL)
	path := filepath.Join(abs, "posserver-wallets.toml")
	if err := privfile.WriteFile(path, []byte(toml), nil); err != nil {
		return "", fmt.Errorf("sandbox files: %w", err)
	}
	return path, nil
}
