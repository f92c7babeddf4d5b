package emv

import (
	"bytes"
	"context"
	"encoding/hex"
	"strings"
	"sync"
)

// h decodes hex written with optional spaces; test data only.
func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// tlv builds an object from concatenated parts.
func tlv(tag Tag, parts ...[]byte) []byte { return EncodeTLV(tag, bytes.Join(parts, nil)) }

var sw9000 = []byte{0x90, 0x00}

func ok(b []byte) []byte { return append(append([]byte(nil), b...), sw9000...) }

// mapCard answers each command from a table keyed by the command's hex and
// answers 6A82 to anything else, like a card without that file. It records
// the commands it saw.
type mapCard struct {
	mu   sync.Mutex
	resp map[string][]byte
	seen []string
}

func newMapCard() *mapCard { return &mapCard{resp: map[string][]byte{}} }

func (c *mapCard) on(cmd []byte, resp []byte) {
	c.resp[strings.ToUpper(hex.EncodeToString(cmd))] = resp
}

func (c *mapCard) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := strings.ToUpper(hex.EncodeToString(apdu))
	c.seen = append(c.seen, k)
	if r, ok := c.resp[k]; ok {
		return append([]byte(nil), r...), nil
	}
	return []byte{0x6A, 0x82}, nil
}

// t0Card makes an inner card behave like a T=0 card: case-4 commands
// (with Lc) get 61xx and their data must be fetched with GET RESPONSE in
// chunks; case-2 commands (READ RECORD, Le only) get 6Cxx unless Le equals
// the data length.
type t0Card struct {
	inner   Card
	chunk   int
	pending []byte
	sw      []byte
	getResp int
	resends int
}

func (c *t0Card) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	if apdu[1] == 0xC0 { // GET RESPONSE
		c.getResp++
		le := int(apdu[4])
		if le == 0 {
			le = 256
		}
		if le > len(c.pending) {
			le = len(c.pending)
		}
		out := append([]byte(nil), c.pending[:le]...)
		c.pending = c.pending[le:]
		return append(out, c.more()...), nil
	}
	q := apdu
	if len(apdu) == 5 { // the inner card knows case-2 commands with Le=00
		q = append(append([]byte(nil), apdu[:4]...), 0x00)
	}
	r, err := c.inner.Transmit(ctx, q)
	if err != nil {
		return nil, err
	}
	data, sw := r[:len(r)-2], r[len(r)-2:]
	if len(data) == 0 {
		return sw, nil
	}
	if len(apdu) > 5 { // case 4
		c.pending, c.sw = data, sw
		return c.more(), nil
	}
	if int(apdu[4]) != len(data) { // case 2 with the wrong Le
		c.resends++
		return []byte{0x6C, byte(len(data))}, nil
	}
	return r, nil
}

func (c *t0Card) more() []byte {
	if len(c.pending) == 0 {
		return c.sw
	}
	n := len(c.pending)
	if n > c.chunk {
		n = c.chunk
	}
	return []byte{0x61, byte(n)}
}
