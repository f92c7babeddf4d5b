package bundle

import (
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
)

// maxIDLen keeps identities short enough for receipts, logs and database
// keys; the ids are also what the rest of the system uses as terminal id.
const maxIDLen = 32

// Identity is what a terminal certificate says: CommonName is the
// terminal, Organization the merchant, OrganizationalUnit the store.
type Identity struct {
	TerminalID, MerchantID, StoreID string
}

// IdentityOf reads the identity from a verified client certificate (the
// leaf of tls.ConnectionState.VerifiedChains[0]). It does not verify the
// chain; it refuses certificates that are not terminal certificates, so a
// server certificate from the same CA cannot pass for a terminal.
func IdentityOf(cert *x509.Certificate) (Identity, error) {
	if cert == nil {
		return Identity{}, errors.New("bundle: no client certificate")
	}
	if cert.IsCA || !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageClientAuth) {
		return Identity{}, fmt.Errorf("bundle: certificate %q is not a terminal certificate", cert.Subject.CommonName)
	}
	s := cert.Subject
	if len(s.Organization) != 1 || len(s.OrganizationalUnit) != 1 {
		return Identity{}, fmt.Errorf("bundle: certificate %q: want exactly one merchant (O) and one store (OU)", s.CommonName)
	}
	id := Identity{TerminalID: s.CommonName, MerchantID: s.Organization[0], StoreID: s.OrganizationalUnit[0]}
	if err := id.Validate(); err != nil {
		return Identity{}, fmt.Errorf("bundle: certificate %q: %w", s.CommonName, err)
	}
	return id, nil
}

// Validate checks each id: 1 to 32 letters, digits, '-' or '_'.
func (id Identity) Validate() error {
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
