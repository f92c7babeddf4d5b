package pemfile

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func selfSigned(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "t"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// A certificate and its key go out and come back; one block per file,
// of the right type, is all they accept.
func TestRoundTripAndRefusals(t *testing.T) {
	cert, key := selfSigned(t)
	kp, err := KeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	cp := CertPEM(cert.Raw)
	gotCert, err := ParseCert(cp)
	if err != nil || !gotCert.Equal(cert) {
		t.Fatalf("certificate: %v", err)
	}
	gotKey, err := ParseKey(kp)
	if err != nil || !KeyMatches(gotKey, cert) {
		t.Fatalf("key: %v", err)
	}
	_, other := selfSigned(t)
	if KeyMatches(other, cert) {
		t.Error("another key matches the certificate")
	}
	for name, tc := range map[string]struct {
		err  error
		want string
	}{
		"two certificates": {func() error { _, err := ParseCert(append(cp, cp...)); return err }(), "more than one"},
		"key as cert":      {func() error { _, err := ParseCert(kp); return err }(), "want CERTIFICATE"},
		"cert as key":      {func() error { _, err := ParseKey(cp); return err }(), "want PRIVATE KEY"},
		"no PEM":           {func() error { _, err := ParseCert([]byte("x")); return err }(), "no PEM block"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, tc.err, tc.want)
		}
	}
}

// WriteAtomic sets the mode it is given, refuses to replace a file unless
// told to, and leaves no temporary file behind.
func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k.pem")
	if err := WriteAtomic(path, []byte("one"), 0o600, false); err != nil {
		t.Fatal(err)
	}
	if err := WriteAtomic(path, []byte("two"), 0o600, false); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second write without overwrite: %v", err)
	}
	if err := WriteAtomic(path, []byte("three"), 0o644, true); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if b, _ := os.ReadFile(path); err != nil || string(b) != "three" || st.Mode().Perm() != 0o644 {
		t.Fatalf("after overwrite: %q %v %v", b, st.Mode(), err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("folder holds %d entries, want only the file", len(entries))
	}
}
