package alipay

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	sdk "github.com/smartwalle/alipay/v3"

	"github.com/multipos/multipos/server/connector"
)

// Channel is the name notifications carry.
const Channel = "alipay"

// DefaultGateway is Alipay's production gateway.
const DefaultGateway = "https://openapi.alipay.com/gateway.do"

// DefaultTimeout bounds one call to Alipay when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Config configures the connector. Keys are given as bytes, not paths, so
// that posserver can keep them wherever it keeps secrets.
type Config struct {
	AppID string
	// PrivateKeyPEM is the app's RSA2 private key (2048 bits): PEM, PKCS #1
	// ("RSA PRIVATE KEY") or PKCS #8 ("PRIVATE KEY"), or the bare base64 the
	// Alipay key tool prints.
	PrivateKeyPEM []byte
	// AlipayPublicKeyPEM is "Alipay's public key" (支付宝公钥) from the
	// app's settings, not the app's own public key: PEM ("PUBLIC KEY" or
	// "RSA PUBLIC KEY") or bare base64. It verifies every answer and
	// notification.
	AlipayPublicKeyPEM []byte
	// Gateway is the gateway URL (default DefaultGateway); the sandbox's is
	// its URL + "/gateway.do".
	Gateway string
	// NotifyURL is where Alipay posts payment results: NotifyHandler's
	// public URL. Empty: no notifications, results come from queries only.
	NotifyURL string
	// Timeout bounds each call (default DefaultTimeout); a call that runs
	// out of it has an unknown outcome.
	Timeout time.Duration
}

// Connector is posserver's Alipay face-to-face payment channel. It
// implements connector.Wallet, connector.BarcodeWallet and
// connector.Refunder.
type Connector struct {
	cfg    Config
	client *sdk.Client
	http   *http.Client
	log    *slog.Logger

	mu sync.Mutex
	// barcode remembers the out_trade_nos paid by barcode, so that a query
	// answering WAIT_BUYER_PAY for one says PAYING (the customer is
	// confirming on the phone) rather than WAITING (a QR code not paid yet).
	// Lost on restart; posserver treats both as "not final".
	barcode map[string]time.Time
}

var (
	_ connector.Wallet        = (*Connector)(nil)
	_ connector.BarcodeWallet = (*Connector)(nil)
	_ connector.Refunder      = (*Connector)(nil)
)

// cst is GMT+8: Alipay reads every timestamp in it. Fixed, so that the
// connector does not depend on the host's zone or tzdata (smartwalle would
// otherwise stamp requests in the host's local time).
var cst = time.FixedZone("CST", 8*3600)

const timeLayout = "2006-01-02 15:04:05"

// New checks the configuration and keys and builds the connector.
func New(cfg Config, log *slog.Logger) (*Connector, error) {
	if log == nil {
		log = slog.Default()
	}
	if cfg.AppID == "" {
		return nil, errors.New("alipay: Config.AppID is empty")
	}
	if cfg.Gateway == "" {
		cfg.Gateway = DefaultGateway
	}
	if err := checkURL(cfg.Gateway); err != nil {
		return nil, fmt.Errorf("alipay: Config.Gateway: %w", err)
	}
	if cfg.NotifyURL != "" {
		if err := checkURL(cfg.NotifyURL); err != nil {
			return nil, fmt.Errorf("alipay: Config.NotifyURL: %w", err)
		}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	priv, err := parsePrivateKey(cfg.PrivateKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("alipay: Config.PrivateKeyPEM (the app's private key): %w", err)
	}
	pub, err := parsePublicKey(cfg.AlipayPublicKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("alipay: Config.AlipayPublicKeyPEM (支付宝公钥): %w", err)
	}
	if pub.Equal(&priv.PublicKey) {
		return nil, errors.New("alipay: Config.AlipayPublicKeyPEM is the app's own public key; " +
			"use the key Alipay shows as 支付宝公钥 in the app's settings")
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("alipay: app private key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("alipay: Alipay public key: %w", err)
	}
	hc := &http.Client{Timeout: cfg.Timeout}
	// production=false keeps smartwalle from downloading a certificate for
	// an unknown alipay_cert_sn, which anyone can put in a notification;
	// in public-key mode it changes nothing else, the gateway being set
	// explicitly.
	client, err := sdk.New(cfg.AppID, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})), false,
		sdk.WithSandboxGateway(cfg.Gateway), sdk.WithHTTPClient(hc), sdk.WithTimeLocation(cst))
	if err != nil {
		return nil, fmt.Errorf("alipay: client: %w", err)
	}
	if err := client.LoadAliPayPublicKey(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))); err != nil {
		return nil, fmt.Errorf("alipay: load Alipay public key: %w", err)
	}
	return &Connector{cfg: cfg, client: client, http: hc, log: log.With("channel", Channel),
		barcode: map[string]time.Time{}}, nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", s)
	}
	return nil
}

// keyDER reads a PEM block, or the bare base64 Alipay's tools print.
func keyDER(b []byte) ([]byte, string, error) {
	s := strings.TrimSpace(string(b))
	if s == "" {
		return nil, "", errors.New("empty")
	}
	if strings.HasPrefix(s, "-----BEGIN") {
		block, _ := pem.Decode([]byte(s))
		if block == nil {
			return nil, "", errors.New("malformed PEM")
		}
		return block.Bytes, block.Type, nil
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		return nil, "", errors.New("neither PEM nor base64")
	}
	return der, "", nil
}

func parsePrivateKey(b []byte) (*rsa.PrivateKey, error) {
	der, typ, err := keyDER(b)
	if err != nil {
		return nil, err
	}
	if strings.Contains(typ, "PUBLIC") || strings.Contains(typ, "CERTIFICATE") {
		return nil, fmt.Errorf("a %s, not a private key", typ)
	}
	var key *rsa.PrivateKey
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		key = k
	} else {
		k8, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return nil, errors.New("not an RSA private key in PKCS #1 or PKCS #8")
		}
		var ok bool
		if key, ok = k8.(*rsa.PrivateKey); !ok {
			return nil, fmt.Errorf("a %T key; RSA2 needs RSA", k8)
		}
	}
	if n := key.N.BitLen(); n < 2048 {
		return nil, fmt.Errorf("RSA key of %d bits; RSA2 needs 2048", n)
	}
	return key, nil
}

func parsePublicKey(b []byte) (*rsa.PublicKey, error) {
	der, typ, err := keyDER(b)
	if err != nil {
		return nil, err
	}
	if strings.Contains(typ, "PRIVATE") {
		return nil, fmt.Errorf("a %s: never give Alipay's place a private key", typ)
	}
	if strings.Contains(typ, "CERTIFICATE") {
		return nil, errors.New("a certificate; certificate mode is not supported, give 支付宝公钥")
	}
	if k, err := x509.ParsePKCS1PublicKey(der); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, errors.New("not an RSA public key (PKIX or PKCS #1)")
	}
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("a %T key; RSA2 needs RSA", k)
	}
	return rk, nil
}

// APIError is an answer from Alipay that refused or failed the call, as
// Alipay gave it. It does not mean the outcome is unknown: those errors
// wrap connector.ErrUnknownOutcome.
type APIError struct {
	Method  string
	Subject string // the out_trade_no (or bill date) the call was about
	Code    string // 40001, 40002, 40004, ...
	Msg     string
	SubCode string // ACQ.*, isv.*, isp.*
	SubMsg  string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("alipay %s %s: %s %s", e.Method, e.Subject, e.Code, e.Msg)
	if e.SubCode != "" {
		s += fmt.Sprintf(" (%s: %s)", e.SubCode, e.SubMsg)
	}
	return s
}

func apiError(method, subject string, e sdk.Error) *APIError {
	return &APIError{Method: method, Subject: subject, Code: string(e.Code), Msg: e.Msg, SubCode: e.SubCode, SubMsg: e.SubMsg}
}

// unknown wraps what leaves the outcome of a call unknown: transport
// errors, timeouts, answers that do not verify or parse, 20000, and
// ACQ.SYSTEM_ERROR. The caller queries before it decides.
func (c *Connector) unknown(method, outTradeNo string, err error) error {
	c.log.Warn("alipay call outcome unknown", "method", method, "out_trade_no", outTradeNo, "err", err)
	if _, ok := err.(*APIError); ok { // it says which call already
		return fmt.Errorf("%w: %w", connector.ErrUnknownOutcome, err)
	}
	return fmt.Errorf("alipay %s %s: %w: %w", method, outTradeNo, connector.ErrUnknownOutcome, err)
}

// sdkErr classifies an error from the SDK. All of them come after the
// request may have left (transport, a body that is not JSON, a signature
// that does not verify) or from an answer Alipay did not sign, which
// nobody can trust either way; so the outcome is unknown.
func (c *Connector) sdkErr(method, outTradeNo string, err error) error {
	var ae *sdk.Error
	if errors.As(err, &ae) {
		err = fmt.Errorf("unsigned answer (%s %s %s): %w", ae.Code, ae.SubCode, ae.SubMsg, err)
	}
	return c.unknown(method, outTradeNo, err)
}

// check turns a verified answer's code into an error: nil for 10000,
// unknown outcome for 20000 and ACQ.SYSTEM_ERROR, *APIError otherwise.
// Either says which call and which order: callers return it as it is.
func (c *Connector) check(method, outTradeNo string, e sdk.Error) error {
	switch {
	case e.Code == sdk.CodeSuccess:
		return nil
	case e.Code == "":
		return c.unknown(method, outTradeNo, errors.New("answer without a code"))
	case e.Code == sdk.CodeUnknowError || e.SubCode == "ACQ.SYSTEM_ERROR" || e.SubCode == "AQC.SYSTEM_ERROR":
		return c.unknown(method, outTradeNo, apiError(method, outTradeNo, e))
	}
	return apiError(method, outTradeNo, e)
}

func (c *Connector) rememberBarcode(outTradeNo string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	for no, at := range c.barcode {
		if now.Sub(at) > 24*time.Hour { // past Alipay's cancel window: nothing left to confirm
			delete(c.barcode, no)
		}
	}
	c.barcode[outTradeNo] = now
}

func (c *Connector) isBarcode(outTradeNo string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.barcode[outTradeNo]
	return ok
}

// parseTime reads an Alipay timestamp (GMT+8); zero if absent or malformed.
func parseTime(s string) time.Time {
	t, err := time.ParseInLocation(timeLayout, s, cst)
	if err != nil {
		return time.Time{}
	}
	return t
}
