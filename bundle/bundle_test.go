package bundle_test

import (
	"bytes"
	"crypto/tls"
	"encoding/pem"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/bundle"
	"github.com/multipos/multipos/cardkeys"
	"github.com/multipos/multipos/internal/pemfile"
	"github.com/multipos/multipos/server/pki"
)

func mustMemory(t *testing.T) *pki.Authority {
	t.Helper()
	a, err := pki.NewMemory(nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// newBundle issues a terminal certificate and master key and packs them
// the way provisioning will.
func newBundle(t *testing.T, a *pki.Authority, id bundle.Identity) bundle.Bundle {
	t.Helper()
	iss, err := a.IssueTerminal(id, 0)
	if err != nil {
		t.Fatal(err)
	}
	mk, err := pki.NewMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	kcv, err := cardkeys.KCV(mk)
	if err != nil {
		t.Fatal(err)
	}
	return bundle.Bundle{
		TerminalID: id.TerminalID, MerchantID: id.MerchantID, StoreID: id.StoreID,
		Server:  "https://127.0.0.1:8443",
		CertPEM: iss.CertPEM, KeyPEM: iss.KeyPEM, CAPEM: a.CAPEM(),
		MasterKey: mk, KCV: kcv,
	}
}

var t1 = bundle.Identity{TerminalID: "T-001", MerchantID: "M_100", StoreID: "S7"}

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

func TestBundleRoundTrip(t *testing.T) {
	a := mustMemory(t)
	b := newBundle(t, a, t1)
	data := b.Encode()
	if !bytes.HasPrefix(data, []byte("# ")) || !bytes.Contains(data[:bytes.IndexByte(data, '\n')], []byte("SECRET")) {
		t.Errorf("bundle does not open with a comment saying it is secret:\n%s", data)
	}
	var types []string
	for rest := data; ; {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			break
		}
		types = append(types, blk.Type+" "+blk.Headers["Role"])
		if blk.Type == "MULTIPOS TERMINAL" {
			want := map[string]string{"Terminal-Id": "T-001", "Merchant-Id": "M_100", "Store-Id": "S7", "Server": b.Server, "Kcv": b.KCV}
			if !reflect.DeepEqual(blk.Headers, want) || !bytes.Equal(blk.Bytes, b.MasterKey) {
				t.Errorf("terminal block headers %v", blk.Headers)
			}
		}
	}
	if want := []string{"MULTIPOS TERMINAL ", "CERTIFICATE ", "PRIVATE KEY ", "CERTIFICATE ca"}; !slices.Equal(types, want) {
		t.Errorf("blocks %q, want %q", types, want)
	}
	got, err := bundle.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, b) {
		t.Errorf("round trip changed the bundle:\n got %+v\nwant %+v", got, b)
	}

	path := filepath.Join(t.TempDir(), "t-001.bundle")
	if err := bundle.Write(path, b, false); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode() != 0o600 {
		t.Fatalf("bundle file: %v, %v", st, err)
	}
	loaded, err := bundle.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(loaded, b) {
		t.Error("LoadBundle differs from what was written")
	}
	wantErr(t, bundle.Write(path, b, false), path, "already exists")
	if err := bundle.Write(path, newBundle(t, a, t1), true); err != nil {
		t.Fatalf("overwrite: %v", err)
	}
	bad := b
	bad.KCV = "000000"
	wantErr(t, bundle.Write(filepath.Join(t.TempDir(), "bad"), bad, false), "does not match Kcv")
}

func TestParseBundleRejects(t *testing.T) {
	a, other := mustMemory(t), mustMemory(t)
	issue := func(a *pki.Authority, id bundle.Identity, validity time.Duration) pki.Issued {
		iss, err := a.IssueTerminal(id, validity)
		if err != nil {
			t.Fatal(err)
		}
		return iss
	}
	cases := []struct {
		name   string
		mutate func(*bundle.Bundle)
		want   string
	}{
		{"wrong KCV", func(b *bundle.Bundle) { b.KCV = "000000" }, "master key does not match Kcv 000000"},
		{"short master key", func(b *bundle.Bundle) { b.MasterKey = b.MasterKey[:8] }, "master key is 8 bytes, want 16"},
		{"key of another certificate", func(b *bundle.Bundle) { b.KeyPEM = issue(a, t1, 0).KeyPEM }, "private key does not belong to the terminal certificate"},
		{"certificate from another CA", func(b *bundle.Bundle) {
			iss := issue(other, t1, 0)
			b.CertPEM, b.KeyPEM = iss.CertPEM, iss.KeyPEM
		}, "not issued by the bundle's CA"},
		{"certificate of another terminal", func(b *bundle.Bundle) {
			iss := issue(a, bundle.Identity{TerminalID: "T-002", MerchantID: "M_100", StoreID: "S7"}, 0)
			b.CertPEM, b.KeyPEM = iss.CertPEM, iss.KeyPEM
		}, "is for terminal T-002"},
		{"expired certificate", func(b *bundle.Bundle) {
			iss := issue(a, t1, time.Nanosecond)
			b.CertPEM, b.KeyPEM = iss.CertPEM, iss.KeyPEM
		}, "terminal certificate expired on"},
		{"no CA", func(b *bundle.Bundle) { b.CAPEM = nil }, "no CA certificate"},
		{"no key", func(b *bundle.Bundle) { b.KeyPEM = nil }, "no private key"},
		{"plain http", func(b *bundle.Bundle) { b.Server = "http://pos.example.com" }, "want https://host[:port]"},
		{"bad terminal id", func(b *bundle.Bundle) { b.TerminalID = "T/1" }, "only letters"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t, a, t1)
			tc.mutate(&b)
			_, err := bundle.Parse(b.Encode())
			wantErr(t, err, "bundle: ", tc.want)
		})
	}

	good := newBundle(t, a, t1).Encode()
	for name, tc := range map[string]struct {
		data []byte
		want string
	}{
		"empty":           {nil, `no "MULTIPOS TERMINAL" block`},
		"duplicate block": {append(slices.Clone(good), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}})...), `two "PRIVATE KEY" blocks`},
		"foreign block":   {append(slices.Clone(good), pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte{1}})...), `unexpected PEM block "RSA PRIVATE KEY"`},
	} {
		_, err := bundle.Parse(tc.data)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
	}
}

func TestLoadBundleRefusesOpenMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.bundle")
	if err := bundle.Write(path, newBundle(t, mustMemory(t), t1), false); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := bundle.Load(path)
	wantErr(t, err, path, "0644", "chmod 600")

	_, err = bundle.Load(path + ".missing")
	wantErr(t, err, path+".missing")
}

type handshakeResult struct {
	server    tls.ConnectionState
	serverErr error
	clientErr error
}

// handshake runs one TLS connection over loopback and reports both sides.
// The client reads a reply because under TLS 1.3 a refused client
// certificate only shows on the client after its handshake has returned.
func handshake(t *testing.T, srv, cli *tls.Config) handshakeResult {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tl := tls.NewListener(ln, srv)
	defer tl.Close()
	type side struct {
		state tls.ConnectionState
		err   error
	}
	done := make(chan side, 1)
	go func() {
		c, err := tl.Accept()
		if err != nil {
			done <- side{err: err}
			return
		}
		defer c.Close()
		tc := c.(*tls.Conn)
		tc.SetDeadline(time.Now().Add(10 * time.Second))
		err = tc.Handshake()
		if err == nil {
			_, err = tc.Write([]byte("ok"))
		}
		done <- side{tc.ConnectionState(), err}
	}()
	var res handshakeResult
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: cli}
	conn, err := d.Dial("tcp", ln.Addr().String())
	if err == nil {
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		_, err = io.ReadFull(conn, make([]byte, 2))
		conn.Close()
	}
	res.clientErr = err
	s := <-done
	res.server, res.serverErr = s.state, s.err
	return res
}

func TestMutualTLS(t *testing.T) {
	a, err := pki.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "t.bundle")
	if err := bundle.Write(path, newBundle(t, a, t1), false); err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := b.ClientTLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	srv := a.ServerTLSConfig()
	if srv.MinVersion != tls.VersionTLS12 || cli.MinVersion != tls.VersionTLS12 || srv.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Errorf("configs: server min %x auth %v, client min %x", srv.MinVersion, srv.ClientAuth, cli.MinVersion)
	}

	res := handshake(t, srv, cli)
	if res.serverErr != nil || res.clientErr != nil {
		t.Fatalf("handshake: server %v, client %v", res.serverErr, res.clientErr)
	}
	chains := res.server.VerifiedChains
	if len(chains) == 0 {
		t.Fatal("server has no verified client chain")
	}
	id, err := bundle.IdentityOf(chains[0][0])
	if err != nil || id != t1 {
		t.Errorf("IdentityOf = %+v, %v; want %+v", id, err, t1)
	}
	cert, _ := pemfile.ParseCert(b.CertPEM)
	if pki.Fingerprint(chains[0][0]) != pki.Fingerprint(cert) || pki.Serial(chains[0][0]) != pki.Serial(cert) {
		t.Error("server saw another certificate than the bundle's")
	}
}

func TestMutualTLSRefuses(t *testing.T) {
	a, other := mustMemory(t), mustMemory(t)
	good, err := newBundle(t, a, t1).ClientTLSConfig()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("client without certificate", func(t *testing.T) {
		res := handshake(t, a.ServerTLSConfig(), &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: a.ClientPool()})
		wantErr(t, res.serverErr, "didn't provide a certificate")
		if res.clientErr == nil {
			t.Error("client without certificate got an answer")
		}
	})

	t.Run("client certificate from another authority", func(t *testing.T) {
		cli, err := newBundle(t, other, t1).ClientTLSConfig()
		if err != nil {
			t.Fatal(err)
		}
		// Trust the real server and send the foreign certificate even though
		// the server does not list its CA, so the server's check is what fails.
		cert := cli.Certificates[0]
		cli.Certificates, cli.RootCAs = nil, a.ClientPool()
		cli.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
		res := handshake(t, a.ServerTLSConfig(), cli)
		wantErr(t, res.serverErr, "unknown authority")
		if res.clientErr == nil {
			t.Error("client with a foreign certificate got an answer")
		}
	})

	t.Run("server from another authority", func(t *testing.T) {
		res := handshake(t, other.ServerTLSConfig(), good)
		wantErr(t, res.clientErr, "unknown authority")
	})
}
