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
	c := testCommon(t)
	c.opts.CardKeys = posclient.NewCardKeys(tmk)
	m := newModel(c, newChannelList(c))
	m, _ = step(t, m, signOnMsg{err: fmt.Errorf("post: %w", posclient.ErrOffline)})
	if c.signedOn() || c.signingOn || !errors.Is(c.signOnErr, posclient.ErrOffline) {
		t.Fatalf("after a failed sign-on: signed %v, busy %v, err %v", c.signedOn(), c.signingOn, c.signOnErr)
	}
	m, _ = step(t, m, pingMsg{err: fmt.Errorf("ping: %w", posclient.ErrOffline)})
	m, cmd := step(t, m, pingMsg{rtt: time.Millisecond})
	if cmd == nil || !c.signingOn {
		t.Fatal("back online, the app did not sign on again")
	}
	// An answer whose keys are under another master key fails the check values.
	other, err := cardkeys.EncodeWorkingKeys(bytes.Repeat([]byte{0x22}, 16), cardkeys.WorkingKeys{PIN: bytes.Repeat([]byte{1}, 16), MAC: bytes.Repeat([]byte{2}, 16)})
	if err != nil {
		t.Fatal(err)
	}
	m, _ = step(t, m, signOnMsg{res: api.SignedOn{Keys: hex.EncodeToString(other)}})
	if c.signedOn() || !errors.Is(c.signOnErr, cardkeys.ErrKeyCheck) || !strings.Contains(errText(c, c.signOnErr), "主密钥不一致") {
		t.Fatalf("keys under another master key: signed %v, err %v", c.signedOn(), c.signOnErr)
	}
	good, err := cardkeys.EncodeWorkingKeys(tmk, cardkeys.WorkingKeys{PIN: bytes.Repeat([]byte{3}, 16), MAC: bytes.Repeat([]byte{4}, 16)})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	_, _ = step(t, m, signOnMsg{res: api.SignedOn{Keys: hex.EncodeToString(good), SignedOnAt: at}})
	if !c.signedOn() || c.signOnErr != nil || !c.signOnTime.Equal(at) {
		t.Fatalf("good keys: signed %v, err %v", c.signedOn(), c.signOnErr)
	}
}
