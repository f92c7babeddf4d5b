package standins

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/multipos/multipos/bundle"
	"github.com/multipos/multipos/cardkeys"
	"github.com/multipos/multipos/server/pki"
)

func writeBundle(t *testing.T, ca *pki.Authority, dir, id string) []byte {
	t.Helper()
	issued, err := ca.IssueTerminal(bundle.Identity{TerminalID: id, MerchantID: "898310000000001", StoreID: "S1"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	key, err := pki.NewMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	kcv, _ := cardkeys.KCV(key)
	b := bundle.Bundle{TerminalID: id, MerchantID: "898310000000001", StoreID: "S1", Server: "https://127.0.0.1:8443",
		CertPEM: issued.CertPEM, KeyPEM: issued.KeyPEM, CAPEM: ca.CAPEM(), MasterKey: key, KCV: kcv}
	if err := bundle.Write(filepath.Join(dir, id+".pem"), b, false); err != nil {
		t.Fatal(err)
	}
	return key
}

// The acquirer learns a terminal added while it runs from its bundle, the
// first time the terminal signs on.
func TestBundleKeys(t *testing.T) {
	ca, err := pki.NewMemory([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	k1 := writeBundle(t, ca, dir, "T1")
	if err := os.WriteFile(filepath.Join(dir, "notes.pem"), []byte("not a bundle"), 0o600); err != nil {
		t.Fatal(err)
	}
	keys := NewBundleKeys(dir, slog.New(slog.DiscardHandler))
	if got, ok := keys.MasterKey("T1"); !ok || !bytes.Equal(got, k1) || keys.Len() != 1 {
		t.Fatalf("T1: %x %v (%d keys)", got, ok, keys.Len())
	}
	if _, ok := keys.MasterKey("T2"); ok {
		t.Fatal("a terminal with no bundle is known")
	}
	// At once: the directory changed.
	k2 := writeBundle(t, ca, dir, "T2")
	if got, ok := keys.MasterKey("T2"); !ok || !bytes.Equal(got, k2) {
		t.Fatalf("T2 added later: %x %v", got, ok)
	}
}
