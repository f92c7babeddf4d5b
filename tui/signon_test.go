package tui

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/cardkeys"
	"github.com/multipos/multipos/posclient"
)

// A sign-on that failed while the server was away is done again as soon as
// the link is back; an answer under another master key is refused and
// leaves the terminal unable to take cards, saying why.
func TestSignOnRetriedWhenBackOnline(t *testing.T) {
	tmk := bytes.Repeat([]byte{0x11}, 16)
	o := testOptions()
	o.CardKeys = posclient.NewCardKeys(tmk)
	m := testModel(t, o)
	k := m.st.signon
	m, _ = step(t, m, signOnMsg{err: fmt.Errorf("post: %w", posclient.ErrOffline)})
	if k.signedOn() || k.busy || !errors.Is(k.err, posclient.ErrOffline) {
		t.Fatalf("after a failed sign-on: signed %v, busy %v, err %v", k.signedOn(), k.busy, k.err)
	}
	m, _ = step(t, m, pingMsg{err: fmt.Errorf("ping: %w", posclient.ErrOffline)})
	m, cmd := step(t, m, pingMsg{rtt: time.Millisecond})
	if cmd == nil || !k.busy {
		t.Fatal("back online, the app did not sign on again")
	}
	// An answer whose keys are under another master key fails the check values.
	other, err := cardkeys.EncodeWorkingKeys(bytes.Repeat([]byte{0x22}, 16), cardkeys.WorkingKeys{PIN: bytes.Repeat([]byte{1}, 16), MAC: bytes.Repeat([]byte{2}, 16)})
	if err != nil {
		t.Fatal(err)
	}
	m, _ = step(t, m, signOnMsg{res: api.SignedOn{Keys: hex.EncodeToString(other)}})
	if k.signedOn() || !errors.Is(k.err, cardkeys.ErrKeyCheck) || !strings.Contains(errText(m.b(), k.err), "主密钥不一致") {
		t.Fatalf("keys under another master key: signed %v, err %v", k.signedOn(), k.err)
	}
	good, err := cardkeys.EncodeWorkingKeys(tmk, cardkeys.WorkingKeys{PIN: bytes.Repeat([]byte{3}, 16), MAC: bytes.Repeat([]byte{4}, 16)})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	_, _ = step(t, m, signOnMsg{res: api.SignedOn{Keys: hex.EncodeToString(good), SignedOnAt: at}})
	if !k.signedOn() || k.err != nil || !k.at.Equal(at) {
		t.Fatalf("good keys: signed %v, err %v", k.signedOn(), k.err)
	}
}
