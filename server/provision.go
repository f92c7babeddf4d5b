package server

import (
	"context"
	"fmt"
	"time"

	"github.com/multipos/multipos/bundle"
	"github.com/multipos/multipos/cardkeys"
	"github.com/multipos/multipos/server/pki"
	"github.com/multipos/multipos/server/store"
)

// Provision registers a terminal and returns its bundle: a client
// certificate from the authority, and a fresh master key, sealed in the
// database and in clear in the bundle only. serverURL is where the
// terminal reaches posserver (https://…), written into the bundle.
func Provision(ctx context.Context, st *store.Store, ca *pki.Authority, id bundle.Identity, merchantName, serverURL string, now time.Time) (bundle.Bundle, error) {
	b, rec, err := credentials(ca, id, serverURL)
	if err != nil {
		return bundle.Bundle{}, err
	}
	rec.CreatedAt = now
	if err := st.AddTerminal(ctx, rec, merchantName); err != nil {
		return bundle.Bundle{}, fmt.Errorf("register terminal %s: %w", id.TerminalID, err)
	}
	return b, nil
}

// Reissue gives a registered terminal a new certificate and master key;
// its old bundle stops working at once (on every server instance within
// the terminal cache's lifetime).
func Reissue(ctx context.Context, st *store.Store, ca *pki.Authority, terminalID, serverURL string, now time.Time) (bundle.Bundle, error) {
	t, err := st.Terminal(ctx, terminalID)
	if err != nil {
		return bundle.Bundle{}, err
	}
	b, rec, err := credentials(ca, bundle.Identity{TerminalID: t.ID, MerchantID: t.MerchantID, StoreID: t.StoreID}, serverURL)
	if err != nil {
		return bundle.Bundle{}, err
	}
	if err := st.ReplaceCredentials(ctx, t.ID, rec.CertSerial, rec.CertNotAfter, rec.MasterKey, rec.MasterKCV, now); err != nil {
		return bundle.Bundle{}, err
	}
	return b, nil
}

func credentials(ca *pki.Authority, id bundle.Identity, serverURL string) (bundle.Bundle, store.Terminal, error) {
	issued, err := ca.IssueTerminal(id, 0)
	if err != nil {
		return bundle.Bundle{}, store.Terminal{}, fmt.Errorf("certificate for terminal %s: %w", id.TerminalID, err)
	}
	key, err := pki.NewMasterKey()
	if err != nil {
		return bundle.Bundle{}, store.Terminal{}, fmt.Errorf("master key for terminal %s: %w", id.TerminalID, err)
	}
	kcv, err := cardkeys.KCV(key)
	if err != nil {
		return bundle.Bundle{}, store.Terminal{}, fmt.Errorf("master key for terminal %s: %w", id.TerminalID, err)
	}
	sealed, err := ca.Seal(key, id.TerminalID)
	if err != nil {
		return bundle.Bundle{}, store.Terminal{}, fmt.Errorf("seal master key of terminal %s: %w", id.TerminalID, err)
	}
	b := bundle.Bundle{TerminalID: id.TerminalID, MerchantID: id.MerchantID, StoreID: id.StoreID, Server: serverURL,
		CertPEM: issued.CertPEM, KeyPEM: issued.KeyPEM, CAPEM: ca.CAPEM(), MasterKey: key, KCV: kcv}
	rec := store.Terminal{ID: id.TerminalID, MerchantID: id.MerchantID, StoreID: id.StoreID, Enabled: true,
		CertSerial: issued.Serial, CertNotAfter: issued.NotAfter, MasterKey: sealed, MasterKCV: kcv}
	return b, rec, nil
}
