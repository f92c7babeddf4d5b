package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"
)

// terminalValidity is the default life of a terminal certificate: long
// enough that terminals are not reprovisioned often, short enough that a
// lost terminal's certificate dies on its own.
const terminalValidity = 2 * 365 * 24 * time.Hour

// maxIDLen keeps identities short enough for receipts, logs and database
// keys; the ids are also what the rest of the system uses as terminal id.
const maxIDLen = 32

// TerminalIdentity is what a terminal certificate says: CommonName is the
// terminal, Organization the merchant, OrganizationalUnit the store.
type TerminalIdentity struct {
	TerminalID, MerchantID, StoreID string
}

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
func (a *Authority) IssueTerminal(id TerminalIdentity, validity time.Duration) (Issued, error) {
	if err := id.validate(); err != nil {
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
	kp, err := keyPEM(key)
	if err != nil {
		return Issued{}, fmt.Errorf("pki: %w", err)
	}
	return Issued{
		CertPEM:     certPEM(der),
		KeyPEM:      kp,
		Serial:      Serial(cert),
		Fingerprint: Fingerprint(cert),
		NotAfter:    cert.NotAfter,
	}, nil
}

// IdentityOf reads the identity from a verified client certificate (the
// leaf of tls.ConnectionState.VerifiedChains[0]). It does not verify the
// chain; it refuses certificates that are not terminal certificates, so a
// server certificate from the same CA cannot pass for a terminal.
func IdentityOf(cert *x509.Certificate) (TerminalIdentity, error) {
	if cert == nil {
		return TerminalIdentity{}, errors.New("pki: no client certificate")
	}
	if cert.IsCA || !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageClientAuth) {
		return TerminalIdentity{}, fmt.Errorf("pki: certificate %q is not a terminal certificate", cert.Subject.CommonName)
	}
	s := cert.Subject
	if len(s.Organization) != 1 || len(s.OrganizationalUnit) != 1 {
		return TerminalIdentity{}, fmt.Errorf("pki: certificate %q: want exactly one merchant (O) and one store (OU)", s.CommonName)
	}
	id := TerminalIdentity{TerminalID: s.CommonName, MerchantID: s.Organization[0], StoreID: s.OrganizationalUnit[0]}
	if err := id.validate(); err != nil {
		return TerminalIdentity{}, fmt.Errorf("pki: certificate %q: %w", s.CommonName, err)
	}
	return id, nil
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

func (id TerminalIdentity) validate() error {
	return errors.Join(
		checkID("terminal id", id.TerminalID),
		checkID("merchant id", id.MerchantID),
		checkID("store id", id.StoreID),
	)
}

// checkID keeps ids to a set that is safe in a certificate subject, a PEM
// header, a file name and a log line without quoting.
func checkID(what, s string) error {
	if s == "" {
		return fmt.Errorf("%s is empty", what)
	}
	if len(s) > maxIDLen {
		return fmt.Errorf("%s %q is %d characters, at most %d allowed", what, s, len(s), maxIDLen)
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_'
		if !ok {
			return fmt.Errorf("%s %q: only letters, digits, '-' and '_' are allowed", what, s)
		}
	}
	return nil
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
