package pki

import (
	"bytes"
	"crypto/des"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"io/fs"
	"math/bits"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/bundle"
	"github.com/multipos/multipos/cardkeys"
	"github.com/multipos/multipos/internal/pemfile"
)

func mustMemory(t *testing.T) *Authority {
	t.Helper()
	a, err := NewMemory(nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

var t1 = bundle.Identity{TerminalID: "T-001", MerchantID: "M_100", StoreID: "S7"}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not contain %q", err, p)
		}
	}
}

func TestOpenCreatesFilesAndReloads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	a, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	modes := map[string]fs.FileMode{
		".": fs.ModeDir | 0o700, "ca.crt": 0o644, "ca.key": 0o600,
		"kek": 0o600, "server.crt": 0o644, "server.key": 0o600,
	}
	for name, want := range modes {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != want {
			t.Errorf("%s: mode %v, want %v", name, st.Mode(), want)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 5 {
		t.Errorf("dir holds %d entries, want the 5 files and no temporaries: %v", len(entries), entries)
	}
	for _, name := range []string{"ca.key", "server.key"} {
		if blk, _ := pem.Decode(mustRead(t, filepath.Join(dir, name))); blk == nil || blk.Type != "PRIVATE KEY" {
			t.Errorf("%s is not a PKCS#8 PEM key", name)
		}
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}\n$`).Match(mustRead(t, filepath.Join(dir, "kek"))) {
		t.Error("kek is not 32 bytes of hex")
	}

	ca := a.CACert()
	if !regexp.MustCompile(`^multipos CA [0-9a-f]{8}$`).MatchString(ca.Subject.CommonName) {
		t.Errorf("CA CN %q", ca.Subject.CommonName)
	}
	if !ca.IsCA || ca.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Errorf("CA: IsCA %v, KeyUsage %v", ca.IsCA, ca.KeyUsage)
	}
	if pub, ok := ca.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("CA key is %T, want ECDSA P-256", ca.PublicKey)
	}
	if years := time.Until(ca.NotAfter).Hours() / 24 / 365; years < 9.9 || years > 10.1 {
		t.Errorf("CA valid for %.2f years, want 10", years)
	}
	if !bytes.Equal(a.CAPEM(), mustRead(t, filepath.Join(dir, "ca.crt"))) {
		t.Error("CAPEM differs from ca.crt")
	}

	leaf := a.server.Leaf
	opts := x509.VerifyOptions{Roots: a.ClientPool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, h := range defaultHosts {
		opts.DNSName = h
		if _, err := leaf.Verify(opts); err != nil {
			t.Errorf("server certificate for %s: %v", h, err)
		}
	}
	if years := time.Until(leaf.NotAfter).Hours() / 24 / 365; years < 1.9 || years > 2.1 {
		t.Errorf("server certificate valid for %.2f years, want 2", years)
	}

	sealed, err := a.Seal([]byte("master key"), "T-001")
	if err != nil {
		t.Fatal(err)
	}
	serverCrt := mustRead(t, filepath.Join(dir, "server.crt"))

	b, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if Fingerprint(b.CACert()) != Fingerprint(ca) {
		t.Error("second Open has another CA")
	}
	if !bytes.Equal(serverCrt, mustRead(t, filepath.Join(dir, "server.crt"))) || !bytes.Equal(b.server.Leaf.Raw, leaf.Raw) {
		t.Error("second Open reissued a server certificate that still fits")
	}
	if got, err := b.Unseal(sealed, "T-001"); err != nil || string(got) != "master key" {
		t.Errorf("second Open cannot unseal what the first sealed (KEK not kept): %q, %v", got, err)
	}
}

func TestOpenReissuesServerCertificate(t *testing.T) {
	dir := t.TempDir()
	crtPath := filepath.Join(dir, "server.crt")
	a, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := mustRead(t, crtPath)

	b, err := Open(dir, []string{"localhost", "pos.example.com", "10.1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	after := mustRead(t, crtPath)
	if bytes.Equal(before, after) {
		t.Fatal("server.crt kept although it does not cover pos.example.com")
	}
	leaf := b.server.Leaf
	if !slices.Contains(leaf.DNSNames, "pos.example.com") || len(leaf.IPAddresses) != 1 || !leaf.IPAddresses[0].Equal(net.ParseIP("10.1.2.3")) {
		t.Errorf("SANs: DNS %v, IP %v", leaf.DNSNames, leaf.IPAddresses)
	}
	if onDisk, err := pemfile.ParseCert(after); err != nil || !bytes.Equal(onDisk.Raw, leaf.Raw) {
		t.Errorf("server.crt is not the certificate in use: %v", err)
	}
	if Fingerprint(b.CACert()) != Fingerprint(a.CACert()) {
		t.Error("reissuing the server certificate changed the CA")
	}

	// A subset of the hosts, in another case, is covered: no new certificate.
	if _, err := Open(dir, []string{"POS.example.com", "[10.1.2.3]"}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(after, mustRead(t, crtPath)) {
		t.Error("server.crt reissued although it covers every host")
	}

	// A certificate ending within 30 days is renewed.
	now := time.Now()
	soon, key, err := b.issueServerUntil([]string{"localhost"}, now, now.Add(10*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	kp, err := pemfile.KeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := pemfile.WriteAtomic(filepath.Join(dir, "server.key"), kp, 0o600, true); err != nil {
		t.Fatal(err)
	}
	if err := pemfile.WriteAtomic(crtPath, pemfile.CertPEM(soon.Raw), 0o644, true); err != nil {
		t.Fatal(err)
	}
	c, err := Open(dir, []string{"localhost"})
	if err != nil {
		t.Fatal(err)
	}
	if c.server.Leaf.NotAfter.Before(now.AddDate(1, 0, 0)) {
		t.Errorf("expiring server certificate not renewed: ends %v", c.server.Leaf.NotAfter)
	}
}

func TestOpenRefusesBrokenFiles(t *testing.T) {
	other := mustMemory(t)
	otherKey, err := pemfile.KeyPEM(other.caKey)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		file    string
		content []byte // nil removes the file
		want    string
	}{
		{"ca.crt", []byte("garbage"), "no PEM block"},
		{"ca.crt", pemfile.CertPEM(other.server.Leaf.Raw), "not a CA certificate"},
		{"ca.key", []byte("garbage"), "no PEM block"},
		{"ca.key", otherKey, "does not hold the key of"},
		{"ca.key", nil, "is missing"},
		{"kek", []byte("zz"), "not hex"},
		{"kek", []byte("abcd\n"), "2 bytes, want 32"},
		{"server.crt", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), "server.crt"},
		{"server.key", []byte("garbage"), "no PEM block"},
	}
	for _, tc := range cases {
		t.Run(tc.file+" "+tc.want, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := Open(dir, nil); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, tc.file)
			if tc.content == nil {
				err = os.Remove(path)
			} else {
				err = os.WriteFile(path, tc.content, 0o600)
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err := Open(dir, nil)
			wantErr(t, err, path, tc.want)
		})
	}
}

func TestIssueTerminal(t *testing.T) {
	a := mustMemory(t)
	iss, err := a.IssueTerminal(t1, 0)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := pemfile.ParseCert(iss.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	key, err := pemfile.ParseKey(iss.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !pemfile.KeyMatches(key, cert) || key.Curve != elliptic.P256() {
		t.Error("key is not the certificate's P-256 key")
	}
	s := cert.Subject
	if s.CommonName != "T-001" || !slices.Equal(s.Organization, []string{"M_100"}) || !slices.Equal(s.OrganizationalUnit, []string{"S7"}) {
		t.Errorf("subject %v", s)
	}
	if cert.IsCA || cert.KeyUsage != x509.KeyUsageDigitalSignature || !slices.Equal(cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) {
		t.Errorf("usage: IsCA %v, KeyUsage %v, ExtKeyUsage %v", cert.IsCA, cert.KeyUsage, cert.ExtKeyUsage)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: a.ClientPool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("terminal certificate does not verify: %v", err)
	}
	now := time.Now()
	if d := now.Sub(cert.NotBefore); d < 4*time.Minute || d > 6*time.Minute {
		t.Errorf("NotBefore %v is %v before now, want 5m", cert.NotBefore, d)
	}
	if d := cert.NotAfter.Sub(now) - 2*365*24*time.Hour; d < -time.Minute || d > time.Minute {
		t.Errorf("NotAfter %v, want two years from now", cert.NotAfter)
	}
	if !iss.NotAfter.Equal(cert.NotAfter) {
		t.Errorf("Issued.NotAfter %v, certificate says %v", iss.NotAfter, cert.NotAfter)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(iss.Serial) || iss.Serial != Serial(cert) || cert.SerialNumber.BitLen() > 128 {
		t.Errorf("serial %q, Serial(cert) %q", iss.Serial, Serial(cert))
	}
	if sum := sha256.Sum256(cert.Raw); iss.Fingerprint != hex.EncodeToString(sum[:]) || iss.Fingerprint != Fingerprint(cert) {
		t.Errorf("fingerprint %q", iss.Fingerprint)
	}
	id, err := bundle.IdentityOf(cert)
	if err != nil || id != t1 {
		t.Errorf("IdentityOf = %v, %v", id, err)
	}

	again, err := a.IssueTerminal(t1, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if again.Serial == iss.Serial {
		t.Error("two certificates with one serial")
	}
	if d := time.Until(again.NotAfter); d < 58*time.Minute || d > time.Hour {
		t.Errorf("validity 1h gave NotAfter %v", again.NotAfter)
	}

	for _, bad := range []bundle.Identity{
		{TerminalID: "", MerchantID: "M", StoreID: "S"}, {TerminalID: "T", MerchantID: "", StoreID: "S"}, {TerminalID: "T", MerchantID: "M", StoreID: ""},
		{TerminalID: strings.Repeat("x", 33), MerchantID: "M", StoreID: "S"}, {TerminalID: "T 1", MerchantID: "M", StoreID: "S"}, {TerminalID: "T", MerchantID: "M/1", StoreID: "S"}, {TerminalID: "T", MerchantID: "M", StoreID: "Sé"},
	} {
		if _, err := a.IssueTerminal(bad, 0); err == nil {
			t.Errorf("IssueTerminal(%+v) accepted", bad)
		}
	}
	if _, err := a.IssueTerminal(t1, -time.Hour); err == nil {
		t.Error("negative validity accepted")
	}
	if _, err := bundle.IdentityOf(a.server.Leaf); err == nil {
		t.Error("IdentityOf accepted the server certificate")
	}
	if _, err := bundle.IdentityOf(nil); err == nil {
		t.Error("bundle.IdentityOf(nil) succeeded")
	}
}

func TestSealUnseal(t *testing.T) {
	a, other := mustMemory(t), mustMemory(t)
	secret := []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10}
	s1, err := a.Seal(secret, "T-001")
	if err != nil {
		t.Fatal(err)
	}
	s2, err := a.Seal(secret, "T-001")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s1, "v1:") || s1 == s2 {
		t.Errorf("sealed %q and %q: want v1: prefix and a fresh nonce each time", s1, s2)
	}
	if bytes.Contains([]byte(s1), []byte(hex.EncodeToString(secret))) {
		t.Error("sealed text shows the secret")
	}
	got, err := a.Unseal(s1, "T-001")
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Unseal = %x, %v", got, err)
	}
	if _, err := a.Unseal(s1, "T-002"); err == nil {
		t.Error("unsealed with another terminal's aad")
	}
	if _, err := other.Unseal(s1, "T-001"); err == nil {
		t.Error("unsealed under another authority's KEK")
	}
	tampered := []byte(s1)
	tampered[len(tampered)-3] ^= 1
	for _, bad := range []string{string(tampered), "v2:" + s1[3:], "v1:!!", "v1:AAAA"} {
		if _, err := a.Unseal(bad, "T-001"); err == nil {
			t.Errorf("Unseal(%q) succeeded", bad)
		}
	}
	if _, err := a.Seal(secret, ""); err == nil {
		t.Error("Seal without an owner succeeded")
	}
}

func TestMasterKeyAndKCV(t *testing.T) {
	key, _ := hex.DecodeString("0123456789ABCDEFFEDCBA9876543210")
	got, err := cardkeys.KCV(key)
	if err != nil || got != "08D7B4" {
		t.Fatalf("KCV = %q, %v; want 08D7B4", got, err)
	}
	// The same value by hand: EDE with single-DES ciphers, K1 K2 K1.
	k1, _ := des.NewCipher(key[:8])
	k2, _ := des.NewCipher(key[8:])
	blk := make([]byte, 8)
	k1.Encrypt(blk, blk)
	k2.Decrypt(blk, blk)
	k1.Encrypt(blk, blk)
	if hex.EncodeToString(blk[:3]) != "08d7b4" {
		t.Errorf("hand-made EDE gives %x", blk[:3])
	}
	if got24, err := cardkeys.KCV(append(slices.Clone(key), key[:8]...)); err != nil || got24 != got {
		t.Errorf("24-byte K1K2K1 KCV = %q, %v", got24, err)
	}
	if _, err := cardkeys.KCV(key[:8]); err == nil {
		t.Error("KCV of an 8-byte key succeeded")
	}

	m1, err := NewMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	m2, err := NewMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	if len(m1) != 16 || bytes.Equal(m1, m2) || bytes.Equal(m1[:8], m1[8:]) {
		t.Errorf("master keys %x, %x", m1, m2)
	}
	for i, b := range m1 {
		if bits.OnesCount8(b)%2 != 1 {
			t.Errorf("byte %d (%02x) has even parity", i, b)
		}
	}
}
