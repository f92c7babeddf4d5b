package server

import (
	"context"
	"sync"
	"time"

	"github.com/multipos/multipos/server/store"
)

// Unsealer opens a terminal master key sealed in the database
// (pki.Authority is one).
type Unsealer interface {
	Unseal(sealed string, aad string) ([]byte, error)
}

// Keyring looks up terminals' master keys: the store has them sealed, the
// authority's key-encryption key opens them. Until card sign-on delivers
// working keys, the master key is the key PIN blocks are encrypted under,
// so the bank's stand-in asks here.
type Keyring struct {
	st  *store.Store
	kek Unsealer
	ttl time.Duration

	mu sync.Mutex
	m  map[string]cachedKey
}

type cachedKey struct {
	key []byte
	at  time.Time
}

// NewKeyring returns a keyring; keys are reused for DefaultCacheTTL, so a
// reissued terminal's new key applies as soon as its new certificate does.
func NewKeyring(st *store.Store, kek Unsealer) *Keyring {
	return &Keyring{st: st, kek: kek, ttl: DefaultCacheTTL, m: map[string]cachedKey{}}
}

// PINKey returns the terminal's key, or false when the terminal is unknown
// or its key does not open (a database moved to another server's KEK).
func (k *Keyring) PINKey(terminalID string) ([]byte, bool) {
	k.mu.Lock()
	c, ok := k.m[terminalID]
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
	k.m[terminalID] = cachedKey{key: key, at: time.Now()}
	k.mu.Unlock()
	return key, true
}
