package bundle

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/multipos/multipos/cardkeys"
	"github.com/multipos/multipos/internal/pemfile"
)

// PEM block types and headers of a bundle file.
const (
	blockTerminal = "MULTIPOS TERMINAL"
	blockCert     = "CERTIFICATE"
	blockKey      = "PRIVATE KEY"

	hdrTerminal = "Terminal-Id"
	hdrMerchant = "Merchant-Id"
	hdrStore    = "Store-Id"
	hdrServer   = "Server"
	hdrKCV      = "Kcv"
	hdrRole     = "Role"
	roleCA      = "ca"
)

// bundleComment heads every bundle file; PEM ignores text outside blocks.
const bundleComment = "# multipos terminal bundle. SECRET: it holds this terminal's private key and\n" +
	"# card master key. Keep it mode 0600 and never send it unencrypted.\n\n"

// maxBundleSize bounds what Load reads, so that a config pointing at
// the wrong (large) file fails quickly; a real bundle is about 2 KB.
const maxBundleSize = 1 << 20

// Bundle is everything a terminal needs to reach its server: one PEM file
// the cashier app's config points to.
type Bundle struct {
	TerminalID, MerchantID, StoreID string
	Server                          string // posserver base URL, e.g. "https://pos.example.com:8443"
	CertPEM, KeyPEM, CAPEM          []byte
	MasterKey                       []byte // 16 bytes, the terminal master key for card sign-on
	KCV                             string
}

// Encode writes the bundle as one PEM file: a comment saying it is secret;
// a "MULTIPOS TERMINAL" block whose headers are Terminal-Id, Merchant-Id,
// Store-Id, Server and Kcv and whose bytes are the master key; the terminal
// "CERTIFICATE"; the "PRIVATE KEY"; and the CA as a "CERTIFICATE" with
// header "Role: ca". Encode does not check the bundle: Write does,
// and Parse reports a part that is missing or does not fit.
func (b Bundle) Encode() []byte {
	var buf bytes.Buffer
	buf.WriteString(bundleComment)
	buf.Write(pem.EncodeToMemory(&pem.Block{
		Type: blockTerminal,
		Headers: map[string]string{
			hdrTerminal: b.TerminalID,
			hdrMerchant: b.MerchantID,
			hdrStore:    b.StoreID,
			hdrServer:   b.Server,
			hdrKCV:      b.KCV,
		},
		Bytes: b.MasterKey,
	}))
	// The PEM inputs are re-encoded from their first block so that headers
	// or extra blocks they carry cannot change the bundle's structure.
	if blk, _ := pem.Decode(b.CertPEM); blk != nil {
		buf.Write(pem.EncodeToMemory(&pem.Block{Type: blk.Type, Bytes: blk.Bytes}))
	}
	if blk, _ := pem.Decode(b.KeyPEM); blk != nil {
		buf.Write(pem.EncodeToMemory(&pem.Block{Type: blk.Type, Bytes: blk.Bytes}))
	}
	if blk, _ := pem.Decode(b.CAPEM); blk != nil {
		buf.Write(pem.EncodeToMemory(&pem.Block{Type: blk.Type, Headers: map[string]string{hdrRole: roleCA}, Bytes: blk.Bytes}))
	}
	return buf.Bytes()
}

// Parse reads Encode's output and checks that its parts belong
// together: all present, the key matches the certificate, the certificate
// chains to the CA and names the bundle's terminal, merchant and store, and
// the master key is 16 bytes with a matching KCV. Errors say which part is
// wrong.
func Parse(data []byte) (Bundle, error) {
	b, err := parseBundle(data)
	if err != nil {
		return Bundle{}, fmt.Errorf("bundle: bundle: %w", err)
	}
	return b, nil
}

func parseBundle(data []byte) (Bundle, error) {
	var term, cert, key, ca *pem.Block
	for rest := data; ; {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			break
		}
		var slot **pem.Block
		switch {
		case blk.Type == blockTerminal:
			slot = &term
		case blk.Type == blockCert && blk.Headers[hdrRole] == roleCA:
			slot = &ca
		case blk.Type == blockCert && len(blk.Headers) == 0:
			slot = &cert
		case blk.Type == blockCert:
			return Bundle{}, fmt.Errorf("CERTIFICATE block with unexpected headers %v", blk.Headers)
		case blk.Type == blockKey:
			slot = &key
		default:
			return Bundle{}, fmt.Errorf("unexpected PEM block %q", blk.Type)
		}
		if *slot != nil {
			return Bundle{}, fmt.Errorf("two %q blocks", blk.Type)
		}
		*slot = blk
	}
	switch {
	case term == nil:
		return Bundle{}, fmt.Errorf("no %q block", blockTerminal)
	case cert == nil:
		return Bundle{}, errors.New("no terminal certificate")
	case key == nil:
		return Bundle{}, errors.New("no private key")
	case ca == nil:
		return Bundle{}, fmt.Errorf("no CA certificate (a CERTIFICATE with %q)", hdrRole+": "+roleCA)
	}
	b := Bundle{
		TerminalID: term.Headers[hdrTerminal],
		MerchantID: term.Headers[hdrMerchant],
		StoreID:    term.Headers[hdrStore],
		Server:     term.Headers[hdrServer],
		KCV:        term.Headers[hdrKCV],
		MasterKey:  term.Bytes,
		CertPEM:    pem.EncodeToMemory(&pem.Block{Type: blockCert, Bytes: cert.Bytes}),
		KeyPEM:     pem.EncodeToMemory(&pem.Block{Type: blockKey, Bytes: key.Bytes}),
		CAPEM:      pem.EncodeToMemory(&pem.Block{Type: blockCert, Bytes: ca.Bytes}),
	}
	if err := b.check(time.Now()); err != nil {
		return Bundle{}, err
	}
	return b, nil
}

// check is what makes a bundle usable: each test names the part at fault,
// so the person provisioning a terminal knows what to replace.
func (b Bundle) check(now time.Time) error {
	if err := errors.Join(
		checkID(hdrTerminal, b.TerminalID),
		checkID(hdrMerchant, b.MerchantID),
		checkID(hdrStore, b.StoreID),
		checkServer(b.Server),
	); err != nil {
		return err
	}
	if len(b.MasterKey) != 16 {
		return fmt.Errorf("master key is %d bytes, want 16", len(b.MasterKey))
	}
	kcv, err := cardkeys.KCV(b.MasterKey)
	if err != nil {
		return err
	}
	if b.KCV == "" {
		return fmt.Errorf("no %s header", hdrKCV)
	}
	if !strings.EqualFold(kcv, b.KCV) {
		return fmt.Errorf("master key does not match %s %s (the key's check value is %s)", hdrKCV, b.KCV, kcv)
	}
	cert, err := pemfile.ParseCert(b.CertPEM)
	if err != nil {
		return fmt.Errorf("terminal certificate: %w", err)
	}
	key, err := pemfile.ParseKey(b.KeyPEM)
	if err != nil {
		return fmt.Errorf("private key: %w", err)
	}
	if !pemfile.KeyMatches(key, cert) {
		return errors.New("private key does not belong to the terminal certificate")
	}
	ca, err := pemfile.ParseCert(b.CAPEM)
	if err != nil {
		return fmt.Errorf("CA certificate: %w", err)
	}
	if !ca.IsCA {
		return fmt.Errorf("CA certificate %q is not a CA", ca.Subject.CommonName)
	}
	if now.After(cert.NotAfter) {
		return fmt.Errorf("terminal certificate expired on %s: ask for a new bundle", cert.NotAfter.Format(time.DateTime))
	}
	if now.Before(cert.NotBefore) {
		return fmt.Errorf("terminal certificate is not valid before %s: is the clock right?", cert.NotBefore.Format(time.DateTime))
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	_, err = cert.Verify(x509.VerifyOptions{
		Roots:       pool,
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if errors.As(err, new(x509.UnknownAuthorityError)) {
		return fmt.Errorf("terminal certificate was not issued by the bundle's CA %q", ca.Subject.CommonName)
	}
	if err != nil {
		return fmt.Errorf("terminal certificate does not verify against the bundle's CA: %w", err)
	}
	id, err := IdentityOf(cert)
	if err != nil {
		return fmt.Errorf("terminal certificate: %w", err)
	}
	if want := (Identity{b.TerminalID, b.MerchantID, b.StoreID}); id != want {
		return fmt.Errorf("terminal certificate is for terminal %s, merchant %s, store %s but the bundle says %s, %s, %s",
			id.TerminalID, id.MerchantID, id.StoreID, want.TerminalID, want.MerchantID, want.StoreID)
	}
	return nil
}

// checkServer wants an https URL: the bundle exists for mutual TLS, and a
// plain http address would send the terminal's traffic unprotected.
// Whitespace is refused because a PEM header cannot carry it faithfully.
func checkServer(s string) error {
	if s == "" {
		return fmt.Errorf("no %s header", hdrServer)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return fmt.Errorf("%s %q contains whitespace", hdrServer, s)
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%s: %w", hdrServer, err)
	}
	if u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%s %q: want https://host[:port]", hdrServer, s)
	}
	return nil
}

// Load reads and parses a bundle file. It refuses a file that group
// or others may access, because the bundle holds the terminal's private
// key and master key.
func Load(path string) (Bundle, error) {
	f, err := os.Open(path)
	if err != nil {
		return Bundle{}, fmt.Errorf("bundle: load bundle: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Bundle{}, fmt.Errorf("bundle: load bundle: %w", err)
	}
	if !st.Mode().IsRegular() {
		return Bundle{}, fmt.Errorf("bundle: bundle %s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return Bundle{}, fmt.Errorf("bundle: bundle %s is open to group or others (mode %04o) but holds secret keys: run chmod 600 %s", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxBundleSize+1))
	if err != nil {
		return Bundle{}, fmt.Errorf("bundle: load bundle %s: %w", path, err)
	}
	if len(data) > maxBundleSize {
		return Bundle{}, fmt.Errorf("bundle: bundle %s is larger than %d bytes: not a bundle", path, maxBundleSize)
	}
	b, err := parseBundle(data)
	if err != nil {
		return Bundle{}, fmt.Errorf("bundle: bundle %s: %w", path, err)
	}
	return b, nil
}

// Write writes b.Encode() to path with mode 0600, atomically. It
// checks the bundle first, so a file it writes always loads, and refuses to
// replace an existing file unless overwrite is true.
func Write(path string, b Bundle, overwrite bool) error {
	if err := b.check(time.Now()); err != nil {
		return fmt.Errorf("bundle: write bundle %s: %w", path, err)
	}
	if err := pemfile.WriteAtomic(path, b.Encode(), 0o600, overwrite); err != nil {
		return fmt.Errorf("bundle: bundle: %w", err)
	}
	return nil
}

// ClientTLSConfig is the terminal side of mutual TLS: TLS 1.2 or later,
// the terminal certificate, and the bundle's CA as the only root, so the
// terminal talks only to a server its own CA vouches for.
func (b Bundle) ClientTLSConfig() (*tls.Config, error) {
	cert, err := tls.X509KeyPair(b.CertPEM, b.KeyPEM)
	if err != nil {
		return nil, fmt.Errorf("bundle: bundle: terminal certificate and key: %w", err)
	}
	ca, err := pemfile.ParseCert(b.CAPEM)
	if err != nil {
		return nil, fmt.Errorf("bundle: bundle: CA certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
	}, nil
}
