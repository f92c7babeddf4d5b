package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/multipos/multipos/internal/pemfile"
)

const (
	caYears     = 10
	serverYears = 2
	// renewBefore leaves a month to notice a server that has not been
	// restarted, rather than letting every terminal fail on the same day.
	renewBefore = 30 * 24 * time.Hour
	// backdate tolerates terminals whose clocks run a little behind the
	// server's: a certificate that is "not yet valid" for them would fail
	// the first handshake after provisioning.
	backdate = 5 * time.Minute
	kekSize  = 32
)

// File names inside an authority's directory.
const (
	caCertFile     = "ca.crt"
	caKeyFile      = "ca.key"
	kekFile        = "kek"
	serverCertFile = "server.crt"
	serverKeyFile  = "server.key"
)

// Authority is the server's CA, its server certificate and the
// key-encryption key (KEK) that seals terminal master keys in the database.
// It does not change after Open or NewMemory, so it is safe for concurrent
// use.
type Authority struct {
	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
	caPEM  []byte
	server tls.Certificate
	kek    []byte
}

// defaultHosts are the names a server on the same machine is reached by,
// which is what demo mode and a first local start need.
var defaultHosts = []string{"localhost", "127.0.0.1", "::1"}

// Open loads the authority kept in dir, creating what is missing: dir
// (0700), ca.crt and ca.key (ECDSA P-256, 10 years), kek (32 random bytes,
// hex, 0600), server.crt and server.key (ECDSA P-256, 2 years, SANs from
// hosts). Private keys are PKCS#8 PEM with mode 0600 and every file is
// written atomically. A folder or private file open to group or others is
// tightened (and logged).
//
// If server.crt does not cover every host in hosts, expires within 30 days
// or was not signed by the CA, a new server certificate replaces it; the
// server certificate can always be reissued, the CA cannot. hosts empty
// means localhost, 127.0.0.1 and ::1. A corrupt file gives an error naming
// it, and a CA with only one of its two files is refused rather than
// replaced, because a new CA would lock out every terminal already issued.
//
// Open keeps the private files plain: a sealed one is refused with
// ErrSealKeyNeeded. OpenSealed takes the seal key.
func Open(dir string, hosts []string) (*Authority, error) {
	return OpenSealed(dir, hosts, nil)
}

// OpenSealed is Open with the private files (ca.key, kek, server.key)
// sealed under key: those it creates are written sealed, and those it finds
// must be sealed under key, or it fails with ErrNotSealed, ErrWrongSealKey
// or, key being nil, ErrSealKeyNeeded. Reseal seals an existing folder.
func OpenSealed(dir string, hosts []string, key *SealKey) (*Authority, error) {
	hosts, err := normalizeHosts(hosts)
	if err != nil {
		return nil, fmt.Errorf("pki: open %s: %w", dir, err)
	}
	if err := tightenDir(dir); err != nil {
		return nil, fmt.Errorf("pki: open %s: %w", dir, err)
	}
	// A missing kek next to an existing CA is a lost key, not a first run:
	// a new one would leave every sealed master key unreadable.
	haveCA, err := exists(filepath.Join(dir, caCertFile))
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	haveKEK, err := exists(filepath.Join(dir, kekFile))
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	if haveCA && !haveKEK {
		return nil, fmt.Errorf("pki: %s is missing next to an existing CA: restore it from a backup (a new one could not open the terminal master keys already stored)", filepath.Join(dir, kekFile))
	}
	a := &Authority{}
	if err := a.loadOrCreateCA(dir, key); err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	if a.kek, err = loadOrCreateKEK(filepath.Join(dir, kekFile), key); err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	if err := a.loadOrIssueServer(dir, hosts, key); err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	return a, nil
}

// NewMemory makes a throwaway authority that never touches the disk (demo
// mode and tests). Its CA, server certificate and KEK vanish with it.
func NewMemory(hosts []string) (*Authority, error) {
	hosts, err := normalizeHosts(hosts)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	a := &Authority{kek: make([]byte, kekSize)}
	if a.caCert, a.caKey, err = newCA(); err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	a.caPEM = pemfile.CertPEM(a.caCert.Raw)
	rand.Read(a.kek)
	cert, key, err := a.issueServer(hosts, time.Now())
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	a.setServer(cert, key)
	return a, nil
}

// CAPEM returns the CA certificate, PEM encoded.
func (a *Authority) CAPEM() []byte { return bytes.Clone(a.caPEM) }

// CACert returns the CA certificate. It is shared: do not modify it.
func (a *Authority) CACert() *x509.Certificate { return a.caCert }

// ServerTLSConfig returns a new config for posserver's listener: TLS 1.2 or
// later, the server certificate, and a client certificate signed by this
// CA required from every connection.
func (a *Authority) ServerTLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{a.server},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    a.ClientPool(),
	}
}

// ClientPool returns a new pool holding only this CA, for clients that
// verify the server. The system roots are left out on purpose: no public
// CA may speak for posserver.
func (a *Authority) ClientPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(a.caCert)
	return pool
}

func (a *Authority) setServer(cert *x509.Certificate, key *ecdsa.PrivateKey) {
	a.server = tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}
}

// normalizeHosts trims the hosts, drops duplicates and unwraps "[::1]" so
// that the same list always yields the same certificate and the same
// coverage check.
func normalizeHosts(hosts []string) ([]string, error) {
	if len(hosts) == 0 {
		return slices.Clone(defaultHosts), nil
	}
	var out []string
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		if len(h) > 2 && h[0] == '[' && h[len(h)-1] == ']' {
			h = h[1 : len(h)-1]
		}
		ip := net.ParseIP(h)
		switch {
		case ip != nil:
			h = ip.String()
		case h == "" || strings.ContainsAny(h, " \t\r\n/:[]"):
			return nil, fmt.Errorf("invalid server host %q: want a DNS name or an IP address, without port", h)
		default:
			h = strings.ToLower(h)
		}
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out, nil
}

func (a *Authority) loadOrCreateCA(dir string, seal *SealKey) error {
	crtPath, keyPath := filepath.Join(dir, caCertFile), filepath.Join(dir, caKeyFile)
	haveCrt, err := exists(crtPath)
	if err != nil {
		return err
	}
	haveKey, err := exists(keyPath)
	if err != nil {
		return err
	}
	switch {
	case haveCrt && haveKey:
		return a.loadCA(crtPath, keyPath, seal)
	case haveCrt:
		return fmt.Errorf("%s exists but %s is missing: restore it from a backup (a new CA would lock out every terminal)", crtPath, keyPath)
	case haveKey:
		return fmt.Errorf("%s exists but %s is missing: restore it from a backup (a new CA would lock out every terminal)", keyPath, crtPath)
	}
	if a.caCert, a.caKey, err = newCA(); err != nil {
		return err
	}
	a.caPEM = pemfile.CertPEM(a.caCert.Raw)
	kp, err := pemfile.KeyPEM(a.caKey)
	if err != nil {
		return err
	}
	// Key first: a crash in between leaves a lone key, which the next Open
	// refuses, instead of a certificate whose key is lost.
	if err := writePrivate(keyPath, kp, seal, false); err != nil {
		return err
	}
	return pemfile.WriteAtomic(crtPath, a.caPEM, 0o644, false)
}

func (a *Authority) loadCA(crtPath, keyPath string, seal *SealKey) error {
	cert, err := readCert(crtPath)
	if err != nil {
		return err
	}
	if !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return fmt.Errorf("%s: not a CA certificate", crtPath)
	}
	if time.Now().After(cert.NotAfter) {
		return fmt.Errorf("%s: CA expired on %s", crtPath, cert.NotAfter.Format(time.DateOnly))
	}
	key, err := readKey(keyPath, seal)
	if err != nil {
		return err
	}
	if !pemfile.KeyMatches(key, cert) {
		return fmt.Errorf("%s does not hold the key of %s", keyPath, crtPath)
	}
	a.caCert, a.caKey, a.caPEM = cert, key, pemfile.CertPEM(cert.Raw)
	return nil
}

func newCA() (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate CA key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, err
	}
	// The random suffix tells apart the CAs of different installations,
	// which otherwise would all be called the same in error messages and
	// certificate viewers.
	tag := make([]byte, 4)
	rand.Read(tag)
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "multipos CA " + hex.EncodeToString(tag)},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.AddDate(caYears, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		// No intermediate CAs: a stolen intermediate could not be revoked
		// without replacing the root on every terminal anyway.
		MaxPathLenZero: true,
		KeyUsage:       x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parse new CA certificate: %w", err)
	}
	return cert, key, nil
}

func loadOrCreateKEK(path string, seal *SealKey) ([]byte, error) {
	have, err := exists(path)
	if err != nil {
		return nil, err
	}
	if have {
		data, err := readPrivate(path, seal)
		if err != nil {
			return nil, err
		}
		kek, err := parseKEK(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return kek, nil
	}
	kek := make([]byte, kekSize)
	rand.Read(kek)
	if err := writePrivate(path, []byte(hex.EncodeToString(kek)+"\n"), seal, false); err != nil {
		return nil, err
	}
	return kek, nil
}

// parseKEK reads the KEK file's contents: 32 bytes in hex.
func parseKEK(data []byte) ([]byte, error) {
	kek, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, fmt.Errorf("not hex: %w", err)
	}
	if len(kek) != kekSize {
		return nil, fmt.Errorf("key is %d bytes, want %d", len(kek), kekSize)
	}
	return kek, nil
}

// loadOrIssueServer keeps the server certificate on disk when it still
// fits, so that restarts do not change what operators may have pinned or
// inspected, and replaces it otherwise.
func (a *Authority) loadOrIssueServer(dir string, hosts []string, seal *SealKey) error {
	crtPath, keyPath := filepath.Join(dir, serverCertFile), filepath.Join(dir, serverKeyFile)
	haveCrt, err := exists(crtPath)
	if err != nil {
		return err
	}
	haveKey, err := exists(keyPath)
	if err != nil {
		return err
	}
	now := time.Now()
	if haveCrt && haveKey {
		cert, err := readCert(crtPath)
		if err != nil {
			return err
		}
		key, err := readKey(keyPath, seal)
		if err != nil {
			return err
		}
		if a.serverFits(cert, key, hosts, now) {
			a.setServer(cert, key)
			return nil
		}
	}
	cert, key, err := a.issueServer(hosts, now)
	if err != nil {
		return err
	}
	kp, err := pemfile.KeyPEM(key)
	if err != nil {
		return err
	}
	// Key first: a crash in between leaves a certificate that does not
	// match its key, which serverFits rejects and the next Open reissues.
	if err := writePrivate(keyPath, kp, seal, true); err != nil {
		return err
	}
	if err := pemfile.WriteAtomic(crtPath, pemfile.CertPEM(cert.Raw), 0o644, true); err != nil {
		return err
	}
	a.setServer(cert, key)
	return nil
}

// serverFits reports whether a loaded server certificate can go on being
// used: signed by this CA, matching its key, a server certificate, not
// expiring within renewBefore, and valid for every host.
func (a *Authority) serverFits(cert *x509.Certificate, key *ecdsa.PrivateKey, hosts []string, now time.Time) bool {
	if cert.CheckSignatureFrom(a.caCert) != nil || !pemfile.KeyMatches(key, cert) {
		return false
	}
	if !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
		return false
	}
	if now.Add(renewBefore).After(cert.NotAfter) {
		return false
	}
	for _, h := range hosts {
		if cert.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

func (a *Authority) issueServer(hosts []string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	return a.issueServerUntil(hosts, now, now.AddDate(serverYears, 0, 0))
}

func (a *Authority) issueServerUntil(hosts []string, now, notAfter time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate server key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "multipos server"},
		NotBefore:             now.Add(-backdate),
		NotAfter:              a.capToCA(notAfter),
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.caCert, &key.PublicKey, a.caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("create server certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parse new server certificate: %w", err)
	}
	return cert, key, nil
}

// capToCA keeps a certificate from outliving its CA: past the CA's end it
// would not verify anyway, and the date it carries should say so.
func (a *Authority) capToCA(notAfter time.Time) time.Time {
	if notAfter.After(a.caCert.NotAfter) {
		return a.caCert.NotAfter
	}
	return notAfter
}
