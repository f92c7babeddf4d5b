package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"math/big"
	"time"

	"github.com/multipos/multipos/bundle"
	"github.com/multipos/multipos/internal/pemfile"
)

// terminalValidity is the default life of a terminal certificate: long
// enough that terminals are not reprovisioned often, short enough that a
// lost terminal's certificate dies on its own.
const terminalValidity = 2 * 365 * 24 * time.Hour

// Issued is a freshly issued terminal certificate.
type Issued struct {
	CertPEM, KeyPEM []byte
	Serial          string // lowercase hex of the random 128-bit serial number, 32 digits
	Fingerprint     string // lowercase hex SHA-256 of the certificate DER
	NotAfter        time.Time
}

// IssueTerminal issues a client certificate for one terminal (ECDSA P-256,
// client authentication only) valid from five minutes ago for validity; 0
// means two years. The end is cut to the CA's own end, past which the
// certificate could not verify anyway. Each id must be 1 to 32 letters,
// digits, '-' or '_'.
func (a *Authority) IssueTerminal(id bundle.Identity, validity time.Duration) (Issued, error) {
	if err := id.Validate(); err != nil {
		return Issued{}, fmt.Errorf("pki: issue terminal certificate: %w", err)
	}
	if validity < 0 {
		return Issued{}, fmt.Errorf("pki: issue terminal certificate for %s: negative validity %s", id.TerminalID, validity)
	}
	if validity == 0 {
		validity = terminalValidity
	}
	now := time.Now()
	notAfter := a.capToCA(now.Add(validity))
	if !notAfter.After(now) {
		return Issued{}, fmt.Errorf("pki: issue terminal certificate for %s: the CA expired on %s", id.TerminalID, a.caCert.NotAfter.Format(time.DateOnly))
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Issued{}, fmt.Errorf("pki: generate terminal key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return Issued{}, fmt.Errorf("pki: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:         id.TerminalID,
			Organization:       []string{id.MerchantID},
			OrganizationalUnit: []string{id.StoreID},
		},
		NotBefore:             now.Add(-backdate),
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.caCert, &key.PublicKey, a.caKey)
	if err != nil {
		return Issued{}, fmt.Errorf("pki: create terminal certificate for %s: %w", id.TerminalID, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return Issued{}, fmt.Errorf("pki: parse new terminal certificate: %w", err)
	}
	kp, err := pemfile.KeyPEM(key)
	if err != nil {
		return Issued{}, fmt.Errorf("pki: %w", err)
	}
	return Issued{
		CertPEM:     pemfile.CertPEM(der),
		KeyPEM:      kp,
		Serial:      Serial(cert),
		Fingerprint: Fingerprint(cert),
		NotAfter:    cert.NotAfter,
	}, nil
}

// Serial returns the certificate's serial number as lowercase hex, padded
// to 32 digits so that every serial this package issues has one width.
func Serial(cert *x509.Certificate) string {
	return fmt.Sprintf("%032x", cert.SerialNumber)
}

// Fingerprint returns the lowercase hex SHA-256 of the certificate DER.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}

var serialLimit = new(big.Int).Lsh(big.NewInt(1), 128)

// randomSerial returns a random positive 128-bit serial. Random serials
// need no counter shared between server instances, and RFC 5280 forbids
// zero.
func randomSerial() (*big.Int, error) {
	for {
		n, err := rand.Int(rand.Reader, serialLimit)
		if err != nil {
			return nil, fmt.Errorf("serial number: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}
