package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/multipos/multipos/cardkeys"
	"github.com/multipos/multipos/server/store"
)

// Sealer seals and opens terminal keys kept in the database
// (pki.Authority is one).
type Sealer interface {
	Seal(secret []byte, aad string) (string, error)
	Unseal(sealed string, aad string) ([]byte, error)
}

// workingKeyTTL is how long an instance trusts the working keys it read:
// a terminal may sign on through another instance, and the answers this
// one sends it (long-polls, look-ups) must carry the MAC of its new keys.
const workingKeyTTL = 2 * time.Second

// ErrNoCardKeys is returned for a terminal that never signed on.
var ErrNoCardKeys = errors.New("terminal has not signed on for card working keys")

// Keyring looks up terminals' keys: the master key provisioned with the
// terminal, and the card working keys of its last sign-on. The store has
// them sealed, the authority's key-encryption key opens them.
type Keyring struct {
	st  *store.Store
	kek Sealer
	ttl time.Duration

	mu     sync.Mutex
	master map[string]cachedKey
	work   map[string]workingKeys
}

type cachedKey struct {
	key []byte
	at  time.Time
}

type workingKeys struct {
	pin, mac []byte
	at       time.Time // when this server read or wrote them
}

// NewKeyring returns a keyring; master keys are reused for
// DefaultCacheTTL, so a reissued terminal's new key applies as soon as its
// new certificate does.
func NewKeyring(st *store.Store, kek Sealer) *Keyring {
	return &Keyring{st: st, kek: kek, ttl: DefaultCacheTTL, master: map[string]cachedKey{}, work: map[string]workingKeys{}}
}

// MasterKey returns the terminal's master key, or false when the terminal
// is unknown or its key does not open (a database moved to another
// server's KEK). The stand-in acquirer is given this as the key the bank
// loaded into the terminal.
func (k *Keyring) MasterKey(terminalID string) ([]byte, bool) {
	k.mu.Lock()
	c, ok := k.master[terminalID]
	k.mu.Unlock()
	if ok && time.Since(c.at) < k.ttl {
		return c.key, true
	}
	t, err := k.st.Terminal(context.Background(), terminalID)
	if err != nil {
		return nil, false
	}
	key, err := k.kek.Unseal(t.MasterKey, t.ID)
	if err != nil {
		return nil, false
	}
	k.mu.Lock()
	k.master[terminalID] = cachedKey{key: key, at: time.Now()}
	k.mu.Unlock()
	return key, true
}

// CardKeys returns the terminal's PIN and MAC working keys. With fresh it
// reads them from the store even when it has them: another instance may
// have signed the terminal on since. ErrNoCardKeys before the first
// sign-on.
func (k *Keyring) CardKeys(ctx context.Context, terminalID string, fresh bool) (pin, mac []byte, err error) {
	if !fresh {
		k.mu.Lock()
		w, ok := k.work[terminalID]
		k.mu.Unlock()
		if ok && time.Since(w.at) < workingKeyTTL {
			return w.pin, w.mac, nil
		}
	}
	ck, err := k.st.LoadCardKeys(ctx, terminalID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, ErrNoCardKeys
	}
	if err != nil {
		return nil, nil, err
	}
	if pin, err = k.kek.Unseal(ck.PINKey, terminalID+"/pin"); err != nil {
		return nil, nil, fmt.Errorf("card keys of terminal %s: %w", terminalID, err)
	}
	if mac, err = k.kek.Unseal(ck.MACKey, terminalID+"/mac"); err != nil {
		return nil, nil, fmt.Errorf("card keys of terminal %s: %w", terminalID, err)
	}
	k.mu.Lock()
	k.work[terminalID] = workingKeys{pin: pin, mac: mac, at: time.Now()}
	k.mu.Unlock()
	return pin, mac, nil
}

// SignedOn returns the terminal's working keys and when it signed on for
// them; ErrNoCardKeys before the first sign-on.
func (k *Keyring) SignedOn(ctx context.Context, terminalID string) (pin, mac []byte, at time.Time, err error) {
	ck, err := k.st.LoadCardKeys(ctx, terminalID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, time.Time{}, ErrNoCardKeys
	}
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	if pin, mac, err = k.CardKeys(ctx, terminalID, true); err != nil {
		return nil, nil, time.Time{}, err
	}
	return pin, mac, ck.SignedOnAt, nil
}

// SaveCardKeys seals and records the keys of a sign-on.
func (k *Keyring) SaveCardKeys(ctx context.Context, terminalID string, pin, mac []byte, at time.Time) error {
	sp, err := k.kek.Seal(pin, terminalID+"/pin")
	if err != nil {
		return fmt.Errorf("card keys of terminal %s: %w", terminalID, err)
	}
	sm, err := k.kek.Seal(mac, terminalID+"/mac")
	if err != nil {
		return fmt.Errorf("card keys of terminal %s: %w", terminalID, err)
	}
	if err := k.st.SaveCardKeys(ctx, store.CardKeys{TerminalID: terminalID, PINKey: sp, MACKey: sm, SignedOnAt: at}); err != nil {
		return err
	}
	k.mu.Lock()
	k.work[terminalID] = workingKeys{pin: append([]byte(nil), pin...), mac: append([]byte(nil), mac...), at: time.Now()}
	k.mu.Unlock()
	return nil
}

// DropCardKeys forgets the terminal's working keys, here and in the
// database: the bank refused a MAC under them, or a sign-on's answer was
// lost (the bank may hold keys the server never got). The next sign-on
// asks the bank.
func (k *Keyring) DropCardKeys(ctx context.Context, terminalID string) error {
	k.mu.Lock()
	delete(k.work, terminalID)
	k.mu.Unlock()
	return k.st.DropCardKeys(ctx, terminalID)
}

// BankLookup gives a bank link a terminal's working keys
// (bank.Config.Lookup): the keyring's, cached for workingKeyTTL, so a
// sign-on through another instance reaches this one's link within that.
func (k *Keyring) BankLookup(ctx context.Context, terminalID string) (cardkeys.WorkingKeys, bool, error) {
	pin, mac, err := k.CardKeys(ctx, terminalID, false)
	if errors.Is(err, ErrNoCardKeys) {
		return cardkeys.WorkingKeys{}, false, nil
	}
	if err != nil {
		return cardkeys.WorkingKeys{}, false, err
	}
	return cardkeys.WorkingKeys{PIN: pin, MAC: mac}, true, nil
}

// Forget drops what the keyring remembers of a terminal ("" for all): its
// master key was reissued, or it signed on elsewhere.
func (k *Keyring) Forget(terminalID string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if terminalID == "" {
		clear(k.master)
		clear(k.work)
		return
	}
	delete(k.master, terminalID)
	delete(k.work, terminalID)
}
