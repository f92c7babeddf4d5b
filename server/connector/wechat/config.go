package wechat

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	gopaywx "github.com/go-pay/gopay/wechat/v3"
	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/validators"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/consts"
	"github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
)

// Config is a merchant's WeChat Pay API v3 account. Keys are PEM bytes,
// not paths: posserver reads the files (or a secret store) and the
// connector never touches the file system.
type Config struct {
	MchID string // 商户号
	AppID string // the appid bound to MchID
	// MerchantSerial is the serial number of the merchant API certificate
	// whose key is MerchantPrivateKeyPEM (sent as serial_no).
	MerchantSerial string
	// MerchantPrivateKeyPEM is apiclient_key.pem: RSA, PKCS#8 or PKCS#1.
	MerchantPrivateKeyPEM []byte
	// APIv3Key is the 32-byte key notifications are encrypted under.
	APIv3Key string
	// PublicKeyID and WechatPayPublicKeyPEM are WeChat Pay's public key
	// (public-key mode, PUB_KEY_ID_…; pub_key.pem, PKIX or PKCS#1), which
	// every answer and notification must be signed with.
	PublicKeyID           string
	WechatPayPublicKeyPEM []byte
	// Endpoint is WeChat Pay's API (default https://api.mch.weixin.qq.com;
	// scheme and host only), e.g. the sandbox's URL.
	Endpoint string
	// NotifyURL receives payment and refund notifications: where posserver
	// serves NotifyHandler. WeChat Pay wants https and no query string.
	NotifyURL string
	// Timeout bounds each call (default 10 s) on top of the caller's context.
	Timeout time.Duration
}

// Connector is posserver's WeChat Pay channel. It is safe for concurrent use.
type Connector struct {
	cfg      Config
	log      *slog.Logger
	client   *core.Client
	download *core.Client      // same signer, no answer check: bill files are unsigned
	gp       *gopaywx.ClientV3 // gopay, for the trade bill calls
	verifier *verifiers.SHA256WithRSAPubkeyVerifier
	notify   *notify.Handler
}

// New checks cfg, loads its keys and builds the SDK client.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Connector, error) {
	if log == nil {
		log = slog.Default()
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"MchID", cfg.MchID}, {"AppID", cfg.AppID},
		{"MerchantSerial", cfg.MerchantSerial}, {"PublicKeyID", cfg.PublicKeyID}, {"NotifyURL", cfg.NotifyURL}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("wechat: config lacks %s", strings.Join(missing, ", "))
	}
	if len(cfg.APIv3Key) != 32 {
		return nil, fmt.Errorf("wechat: APIv3Key is %d bytes; WeChat Pay's APIv3 key is 32", len(cfg.APIv3Key))
	}
	if !strings.HasPrefix(cfg.PublicKeyID, "PUB_KEY_ID_") {
		return nil, fmt.Errorf("wechat: PublicKeyID %q does not start with PUB_KEY_ID_ (only public-key mode is supported)", cfg.PublicKeyID)
	}
	if u, err := url.Parse(cfg.NotifyURL); err != nil || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("wechat: NotifyURL %q must be an absolute URL without a query string", cfg.NotifyURL)
	}
	merchantKey, err := parsePrivateKey(cfg.MerchantPrivateKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("wechat: merchant private key: %w", err)
	}
	wxKey, err := parsePublicKey(cfg.WechatPayPublicKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("wechat: WeChat Pay public key: %w", err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	var rt http.RoundTripper = http.DefaultTransport
	if cfg.Endpoint != "" && cfg.Endpoint != consts.WechatPayAPIServer {
		base, err := url.Parse(cfg.Endpoint)
		if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" ||
			strings.Trim(base.Path, "/") != "" || base.RawQuery != "" {
			return nil, fmt.Errorf("wechat: Endpoint %q must be a scheme and host only, like https://api.mch.weixin.qq.com", cfg.Endpoint)
		}
		rt = &redirect{base: base, next: rt}
	}
	hc := &http.Client{Transport: rt, Timeout: cfg.Timeout}
	client, err := core.NewClient(ctx,
		option.WithWechatPayPublicKeyAuthCipher(cfg.MchID, cfg.MerchantSerial, merchantKey, cfg.PublicKeyID, wxKey),
		option.WithHTTPClient(hc))
	if err != nil {
		return nil, fmt.Errorf("wechat: client: %w", err)
	}
	block, err := aes.NewCipher([]byte(cfg.APIv3Key))
	if err != nil {
		return nil, fmt.Errorf("wechat: APIv3Key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("wechat: APIv3Key: %w", err)
	}
	gp, err := newGopay(cfg)
	if err != nil {
		return nil, err
	}
	verifier := verifiers.NewSHA256WithRSAPubkeyVerifier(cfg.PublicKeyID, *wxKey)
	return &Connector{
		cfg: cfg, log: log.With("channel", "wechat"), client: client, gp: gp,
		download: core.NewClientWithValidator(client, &validators.NullValidator{}),
		verifier: verifier,
		notify:   notify.NewEmptyHandler().AddRSAWithAESGCM(verifier, aead),
	}, nil
}

// redirect sends requests for WeChat Pay's hosts to another endpoint. The
// SDK signs the request URI (path and query) before the transport sees
// it, so changing scheme and host keeps the signature valid.
type redirect struct {
	base *url.URL
	next http.RoundTripper
}

func (t *redirect) RoundTrip(r *http.Request) (*http.Response, error) {
	if h := r.URL.Host; h != "api.mch.weixin.qq.com" && h != "api2.mch.weixin.qq.com" {
		return t.next.RoundTrip(r) // e.g. a bill download_url the endpoint gave
	}
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = t.base.Scheme, t.base.Host, ""
	return t.next.RoundTrip(r)
}

func parsePrivateKey(b []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block (want the contents of apiclient_key.pem, not its path)")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block is %q, want PRIVATE KEY or RSA PRIVATE KEY", block.Type)
	}
	if err != nil {
		return nil, err
	}
	k, isRSA := key.(*rsa.PrivateKey)
	if !isRSA {
		return nil, fmt.Errorf("key is %T, want RSA", key)
	}
	if k.N.BitLen() < 2048 {
		return nil, fmt.Errorf("RSA key has %d bits, WeChat Pay uses 2048", k.N.BitLen())
	}
	return k, nil
}

func parsePublicKey(b []byte) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block (want the contents of pub_key.pem, not its path)")
	}
	var key any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		return nil, errors.New("got a certificate: platform-certificate mode is not supported, give the WeChat Pay public key (pub_key.pem)")
	default:
		return nil, fmt.Errorf("PEM block is %q, want PUBLIC KEY", block.Type)
	}
	if err != nil {
		return nil, err
	}
	k, isRSA := key.(*rsa.PublicKey)
	if !isRSA {
		return nil, fmt.Errorf("key is %T, want RSA", key)
	}
	return k, nil
}
