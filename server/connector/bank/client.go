package bank

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"
	"github.com/moov-io/iso8583/network"

	"github.com/multipos/multipos/cardkeys"
	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/server/connector"
)

// ErrTimeout is returned when the host did not answer in time. It wraps
// connector.ErrUnknownOutcome: the host may have booked the transaction, so
// the caller must reverse it (Client.Reverse) before telling the cashier it
// failed.
var ErrTimeout = fmt.Errorf("bank: no answer from the host: %w", connector.ErrUnknownOutcome)

// ErrNotSignedOn is returned by financial requests before SignOn succeeded.
var ErrNotSignedOn = errors.New("bank: terminal not signed on (no MAC key)")

// Config configures a Client.
type Config struct {
	Addr      string // host:port of the acquirer's front-end
	Terminal  Terminal
	MasterKey []byte        // terminal master key (16 or 24 bytes), for SignOn
	Timeout   time.Duration // per request when ctx has no deadline; 0 = 30 s
	// DialTimeout bounds the TCP connect; 0 = 10 s.
	DialTimeout time.Duration
	// Lookup gives the working keys of a terminal, which may have signed
	// on through another link (another posserver instance, or before a
	// restart); it is asked at every message, so it should cache. false
	// means the terminal must sign on first. Without Lookup, the link uses
	// the keys of its own sign-ons (SignOn, SetTerminalKeys).
	Lookup func(ctx context.Context, terminalID string) (cardkeys.WorkingKeys, bool, error)
	// OnError receives connection-level errors (broken frames, unmatched
	// replies). They never contain card data from this package, but the
	// library's own errors may quote fields: do not log them at info level
	// in production. nil drops them.
	OnError func(error)
}

// Client is an Acquirer over one persistent TCP connection. Requests may be
// sent concurrently; answers are matched to requests by field 11 + field 41,
// so two tills sharing a link never get each other's answers.
type Client struct {
	cfg Config

	connMu sync.Mutex
	conn   *connection.Connection
	closed bool

	mu   sync.RWMutex
	keys map[string]linkKeys // terminal id → working keys
}

type linkKeys struct {
	mac *cardkeys.MACKey
	pik []byte
}

var _ connector.Acquirer = (*Client)(nil)

// ReadLength and WriteLength frame messages with a 2-byte big-endian binary
// length header, the usual CUP POS framing (without TPDU).
func ReadLength(r io.Reader) (int, error) {
	h := network.NewBinary2BytesHeader()
	if _, err := h.ReadFrom(r); err != nil {
		return 0, err
	}
	return h.Length(), nil
}

// WriteLength writes the 2-byte length header; see ReadLength.
func WriteLength(w io.Writer, length int) (int, error) {
	h := network.NewBinary2BytesHeader()
	if err := h.SetLength(length); err != nil {
		return 0, err
	}
	return h.WriteTo(w)
}

// RequestID matches answers to requests on the trace number, terminal id
// and message class (fields 11 and 41, the MTI's first two digits): a
// reversal repeats its original's trace, and the original's late answer
// must not be taken for the reversal's. Exported for a host simulator on
// the same spec.
type RequestID struct{}

// GenerateRequestID implements connection.RequestIDGenerator.
func (RequestID) GenerateRequestID(m *iso8583.Message) (string, error) {
	stan, err := m.GetString(11)
	if err != nil || stan == "" {
		return "", errors.New("bank: message has no trace (field 11)")
	}
	tid, err := m.GetString(41)
	if err != nil || tid == "" {
		return "", errors.New("bank: message has no terminal id (field 41)")
	}
	mti, err := m.GetMTI()
	if err != nil || len(mti) != 4 {
		return "", errors.New("bank: message has no MTI")
	}
	return tid + "/" + stan + "/" + mti[:2], nil
}

// ErrLinkDown is returned when the host cannot be reached before a request
// is sent: nothing left, so the outcome is known (not sent).
var ErrLinkDown = errors.New("bank: the link to the host is down")

// Dial connects to the host. It does not sign on. When the link drops
// later, the next request dials again.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	c := newClient(cfg)
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	c.conn = conn
	return c, nil
}

// Open is Dial for a server that must start while the host is away: the
// first connect's error is returned with a usable client, which dials
// again at each request until the host answers.
func Open(ctx context.Context, cfg Config) (*Client, error) {
	c := newClient(cfg)
	conn, err := c.dial(ctx)
	c.conn = conn
	return c, err
}

func newClient(cfg Config) *Client {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	if cfg.OnError == nil {
		cfg.OnError = func(error) {}
	}
	return &Client{cfg: cfg, keys: map[string]linkKeys{}}
}

func (c *Client) dial(ctx context.Context) (*connection.Connection, error) {
	conn, err := connection.New(c.cfg.Addr, Spec, ReadLength, WriteLength,
		connection.ConnectTimeout(c.cfg.DialTimeout),
		connection.SendTimeout(c.cfg.Timeout),
		connection.SetRequestIDGenerator(RequestID{}),
		// The library's default handler logs; it must not see our traffic.
		connection.ErrorHandler(c.cfg.OnError),
		// A late answer to a request that timed out lands here. It is
		// dropped: the caller was told the outcome is unknown and reverses.
		connection.InboundMessageHandler(func(*connection.Connection, *iso8583.Message) {}),
	)
	if err != nil {
		return nil, fmt.Errorf("bank: %w", err)
	}
	if err := conn.ConnectCtx(ctx); err != nil {
		return nil, fmt.Errorf("bank: connect %s: %w", c.cfg.Addr, err)
	}
	return conn, nil
}

// link returns the open connection, dialling again when the last one was
// closed (by the host, or a broken frame).
func (c *Client) link(ctx context.Context) (*connection.Connection, error) {
	c.connMu.Lock()
	defer c.connMu.Unlock()
	if c.closed {
		return nil, fmt.Errorf("%w: client closed", ErrLinkDown)
	}
	if c.conn != nil {
		select {
		case <-c.conn.Done():
		default:
			return c.conn, nil
		}
	}
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLinkDown, err)
	}
	c.conn = conn
	return conn, nil
}

// drop retires conn: the next request dials a new connection at once, and
// conn is closed aside (closing waits for the requests still on it).
func (c *Client) drop(conn *connection.Connection) {
	c.connMu.Lock()
	if c.conn == conn {
		c.conn = nil
	}
	c.connMu.Unlock()
	go func() { _ = conn.Close() }()
}

// Close closes the connection, waiting for requests in flight.
func (c *Client) Close() error {
	c.connMu.Lock()
	c.closed = true
	conn := c.conn
	c.connMu.Unlock()
	if conn == nil {
		return nil
	}
	return conn.Close()
}

// SetKeys installs working keys obtained elsewhere for Config.Terminal.
func (c *Client) SetKeys(k cardkeys.WorkingKeys) error {
	return c.SetTerminalKeys(c.cfg.Terminal.TerminalID, k)
}

// SetTerminalKeys installs a terminal's working keys (e.g. found in the
// database after a restart within the same day).
func (c *Client) SetTerminalKeys(terminalID string, k cardkeys.WorkingKeys) error {
	mk, err := cardkeys.NewMACKey(k.MAC)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.keys[terminalID] = linkKeys{mac: mk, pik: append([]byte(nil), k.PIN...)}
	c.mu.Unlock()
	return nil
}

// PINKey is Config.Terminal's PIN working key from the last sign-on (nil
// before), to encrypt PIN blocks with cards.EncryptPINBlock.
func (c *Client) PINKey() []byte {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([]byte(nil), c.keys[c.cfg.Terminal.TerminalID].pik...)
}

// SignOn sends an 0800 for Config.Terminal and installs the working keys
// from the 0810.
func (c *Client) SignOn(ctx context.Context, trace string) (cardkeys.WorkingKeys, error) {
	k, _, err := c.SignOnTerminal(ctx, c.cfg.Terminal, c.cfg.MasterKey, trace)
	return k, err
}

// SignOnTerminal signs terminal t on with its master key tmk and installs
// the keys for its messages on this link. It also returns field 62 as the
// host sent it (the keys under tmk), which is what the terminal itself
// needs to decrypt: the clear keys never have to travel.
func (c *Client) SignOnTerminal(ctx context.Context, t Terminal, tmk []byte, trace string) (cardkeys.WorkingKeys, []byte, error) {
	resp, err := c.Exchange(ctx, t.NewSignOn(trace))
	if err != nil {
		return cardkeys.WorkingKeys{}, nil, err
	}
	if resp.ResponseCode != "00" {
		return cardkeys.WorkingKeys{}, nil, &DeclinedError{Code: resp.ResponseCode}
	}
	keys, err := cardkeys.DecodeWorkingKeys(tmk, resp.Field62)
	if err != nil {
		return cardkeys.WorkingKeys{}, nil, err
	}
	return keys, append([]byte(nil), resp.Field62...), c.SetTerminalKeys(t.TerminalID, keys)
}

// macKey returns the MAC key for a terminal's messages. With a Lookup, the
// keys are asked there every time: they are the server's, which a sign-on
// through another instance can change at any moment, and the lookup keeps
// its own short cache. Without one, the keys of this link's sign-ons.
func (c *Client) macKey(ctx context.Context, terminalID string) (*cardkeys.MACKey, error) {
	if c.cfg.Lookup != nil {
		wk, found, err := c.cfg.Lookup(ctx, terminalID)
		if err != nil {
			return nil, fmt.Errorf("bank: working keys of terminal %s: %w", terminalID, err)
		}
		if !found {
			return nil, ErrNotSignedOn
		}
		return cardkeys.NewMACKey(wk.MAC)
	}
	c.mu.RLock()
	k, ok := c.keys[terminalID]
	c.mu.RUnlock()
	if !ok {
		return nil, ErrNotSignedOn
	}
	return k.mac, nil
}

// IssueKeys implements connector.KeyIssuer: an 0800 for the terminal.
func (c *Client) IssueKeys(ctx context.Context, s connector.SignOn) (connector.SignedOn, error) {
	t := c.terminal(s.TerminalID, s.MerchantID, s.Batch)
	k, f62, err := c.SignOnTerminal(ctx, t, s.MasterKey, s.Trace)
	if err != nil {
		return connector.SignedOn{}, err
	}
	return connector.SignedOn{Keys: f62, PINKey: k.PIN, MACKey: k.MAC}, nil
}

// EntryMode is field 22 for how the card was read (chip, swipe,
// contactless) and whether a PIN was entered: 051 chip with PIN, 052 chip
// without, 021/022 stripe, 071/072 contactless. A 3-digit code passes as is.
func EntryMode(entry string, pin bool) string {
	p := "2"
	if pin {
		p = "1"
	}
	switch entry {
	case "chip":
		return "05" + p
	case "swipe":
		return "02" + p
	case "contactless":
		return "07" + p
	}
	return entry
}

// DeclinedError is a host answer other than 00 where the caller wanted one.
type DeclinedError struct{ Code string }

func (e *DeclinedError) Error() string {
	return "bank: declined " + e.Code + " (" + cards.ResponseText(e.Code, false) + ")"
}

// Exchange signs req (except an 0800), sends it, waits for the answer and
// checks it: MTI, trace, terminal and, on an 00 answer, its MAC. Any doubt
// after the request may have left wraps connector.ErrUnknownOutcome.
func (c *Client) Exchange(ctx context.Context, req *Message) (*Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	msg, err := req.ToISO()
	if err != nil {
		return nil, err
	}
	macked := req.MTI != MTISignOn
	var mac *cardkeys.MACKey
	if macked {
		if mac, err = c.macKey(ctx, req.TerminalID); err != nil {
			return nil, err
		}
		if err := SignMessage(mac, msg); err != nil {
			return nil, err
		}
	}
	timeout := c.cfg.Timeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
		if timeout <= 0 {
			return nil, context.DeadlineExceeded
		}
	}
	// Send has no context; run it aside so a cancelled ctx returns at once.
	// The goroutine ends by itself within timeout at the latest.
	type result struct {
		raw *iso8583.Message
		err error
	}
	done := make(chan result, 1)
	conn, err := c.link(ctx)
	if err != nil {
		return nil, err
	}
	go func() {
		raw, err := conn.Send(msg, connection.SendTimeout(timeout))
		done <- result{raw, err}
	}()
	var raw *iso8583.Message
	select {
	case r := <-done:
		raw, err = r.raw, r.err
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("%w: %w", ErrTimeout, ctx.Err())
		}
		return nil, fmt.Errorf("bank: %w while waiting: %w", ctx.Err(), connector.ErrUnknownOutcome)
	}
	switch {
	case errors.Is(err, connection.ErrSendTimeout):
		// A link that keeps quiet for a whole timeout is as good as dead
		// (a host or a NAT that dropped it silently sends nothing back):
		// the next request dials afresh rather than wait on it again.
		c.drop(conn)
		return nil, ErrTimeout
	case errors.Is(err, connection.ErrConnectionClosed) && raw == nil:
		// Closed before or while we waited: the request may have gone out.
		return nil, fmt.Errorf("bank: connection closed: %w", connector.ErrUnknownOutcome)
	case err != nil:
		return nil, fmt.Errorf("bank: send %s: %v: %w", req.MTI, err, connector.ErrUnknownOutcome)
	}
	resp, err := FromISO(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, connector.ErrUnknownOutcome)
	}
	if err := checkAnswer(req, resp); err != nil {
		return nil, fmt.Errorf("%w: %w", err, connector.ErrUnknownOutcome)
	}
	// Approvals must carry a valid MAC; a forged or corrupted approval is
	// as good as no answer (reverse it). Declines are often sent unMACed.
	if macked && (resp.ResponseCode == "00" || resp.MAC != nil) {
		if err := VerifyMessage(mac, raw); err != nil {
			return nil, fmt.Errorf("%w: %w", err, connector.ErrUnknownOutcome)
		}
	}
	return resp, nil
}

func checkAnswer(req, resp *Message) error {
	want := req.MTI[:2] + string(req.MTI[2]+1) + req.MTI[3:]
	if resp.MTI != want {
		return fmt.Errorf("bank: answer MTI %s to %s", resp.MTI, req.MTI)
	}
	if resp.Trace != req.Trace || resp.TerminalID != req.TerminalID {
		return errors.New("bank: answer for another trace or terminal")
	}
	if len(resp.ResponseCode) != 2 {
		return errors.New("bank: answer without response code")
	}
	if resp.ResponseCode == "00" && req.Amount != 0 && resp.Amount != 0 && resp.Amount != req.Amount {
		return fmt.Errorf("bank: approved %d fen, asked %d fen", resp.Amount, req.Amount)
	}
	return nil
}

// Sale implements connector.Acquirer with an 0200 purchase. A decline is a
// SaleResult with its code, not an error; ErrUnknownOutcome (ErrTimeout)
// means Reverse must follow.
func (c *Client) Sale(ctx context.Context, s connector.Sale) (connector.SaleResult, error) {
	t, card := c.cardholder(s)
	req, err := t.NewSale(s.Trace, s.Amount, card)
	if err != nil {
		return connector.SaleResult{}, err
	}
	return c.result(ctx, req)
}

// terminal is the terminal a message is for: Config.Terminal's fields,
// overridden by those given (the server's terminals each have their own
// id, merchant and batch).
func (c *Client) terminal(tid, mid, batch string) Terminal {
	t := c.cfg.Terminal
	t.TerminalID, t.MerchantID = tid, mid
	if batch != "" {
		t.Batch = batch
	}
	if t.Batch == "" {
		t.Batch = "000001"
	}
	return t
}

// cardholder is the terminal and the card of a sale or balance inquiry.
func (c *Client) cardholder(s connector.Sale) (Terminal, Card) {
	t := c.terminal(s.TerminalID, s.MerchantID, s.Batch)
	card := Card{PAN: s.PAN, Expiry: s.Expiry, Track2: s.Track2, CardSeq: s.CardSeq, ICCData: s.ICC}
	if s.PINBlock != ([8]byte{}) {
		card.PINBlock = s.PINBlock[:]
	}
	card.EntryMode = EntryMode(s.Entry, card.PINBlock != nil)
	return t, card
}

// Reverse implements connector.Acquirer with an 0400: the original
// request rebuilt from what the server kept of it (no card number, track
// or PIN), as UnionPay POS send it. Only an approved 0410 undoes it; 25
// (no such original) is ErrNothingToReverse; any other answer leaves the
// outcome open, and the reversal is sent again.
func (c *Client) Reverse(ctx context.Context, r connector.Reversal) error {
	if r.Amount <= 0 {
		return errNoAmount
	}
	orig, err := c.original(r)
	if err != nil {
		return err
	}
	resp, err := c.Exchange(ctx, NewReversal(orig))
	if err != nil {
		return err
	}
	switch resp.ResponseCode {
	case "00":
		return nil
	case "25":
		return fmt.Errorf("bank: reversal of trace %s batch %s: %w", r.Trace, r.Batch, connector.ErrNothingToReverse)
	}
	return fmt.Errorf("bank: reversal of trace %s batch %s: %w: %w", r.Trace, r.Batch,
		&DeclinedError{Code: resp.ResponseCode}, connector.ErrUnknownOutcome)
}

// original rebuilds the request a reversal undoes, with the builders that
// made it, so that every copied field is as it was sent.
func (c *Client) original(r connector.Reversal) (*Message, error) {
	if len(r.Batch) != 6 {
		// A reversal names its original by batch and trace: a guess would
		// name another transaction, or none.
		return nil, fmt.Errorf("bank: reversal of trace %s without its batch", r.Trace)
	}
	t := c.terminal(r.TerminalID, r.MerchantID, r.Batch)
	card := Card{EntryMode: EntryMode(r.Entry, r.PIN), CardSeq: r.CardSeq}
	o := Original{Batch: r.OrigBatch, Trace: r.OrigTrace, RRN: r.OrigRRN, Date: r.OrigDate}
	switch r.Kind {
	case "", "sale":
		return t.NewSale(r.Trace, r.Amount, card)
	case "void":
		return t.NewVoid(r.Trace, r.Amount, card, o)
	case "refund":
		return t.NewRefund(r.Trace, r.Amount, card, o)
	}
	return nil, fmt.Errorf("bank: reversal of a %q: not a financial message", r.Kind)
}

// Addr is the host's address, as configured.
func (c *Client) Addr() string { return c.cfg.Addr }

// Online reports whether the link is connected now (a dropped link is
// dialled again by the next request).
func (c *Client) Online() bool {
	c.connMu.Lock()
	defer c.connMu.Unlock()
	if c.conn == nil {
		return false
	}
	select {
	case <-c.conn.Done():
		return false
	default:
		return !c.closed
	}
}

var _ connector.CardServices = (*Client)(nil)

func (c *Client) adjustment(a connector.CardAdjustment) (Terminal, Card, Original) {
	t := c.terminal(a.TerminalID, a.MerchantID, a.Batch)
	card := Card{PAN: a.PAN, Expiry: a.Expiry, Track2: a.Track2, CardSeq: a.CardSeq, ICCData: a.ICC,
		EntryMode: EntryMode(a.Entry, false)}
	return t, card, Original{Batch: a.OrigBatch, Trace: a.OrigTrace, RRN: a.OrigRRN, Date: a.OrigDate}
}

func (c *Client) result(ctx context.Context, req *Message) (connector.SaleResult, error) {
	resp, err := c.Exchange(ctx, req)
	if err != nil {
		return connector.SaleResult{}, err
	}
	res := connector.SaleResult{ResponseCode: resp.ResponseCode, AuthCode: resp.AuthCode, RRN: resp.RRN, Date: resp.LocalDate}
	if len(resp.Field60) >= 8 {
		res.Batch = resp.Field60[2:8]
	}
	return res, nil
}

// Void implements connector.CardServices with an 0200 void. Like a sale,
// ErrUnknownOutcome means a reversal must follow.
func (c *Client) Void(ctx context.Context, a connector.CardAdjustment) (connector.SaleResult, error) {
	t, card, orig := c.adjustment(a)
	req, err := t.NewVoid(a.Trace, a.Amount, card, orig)
	if err != nil {
		return connector.SaleResult{}, err
	}
	return c.result(ctx, req)
}

// Refund implements connector.CardServices with an 0220 refund.
func (c *Client) Refund(ctx context.Context, a connector.CardAdjustment) (connector.SaleResult, error) {
	t, card, orig := c.adjustment(a)
	req, err := t.NewRefund(a.Trace, a.Amount, card, orig)
	if err != nil {
		return connector.SaleResult{}, err
	}
	return c.result(ctx, req)
}

// Balance implements connector.CardServices with an 0200 balance inquiry.
// It moves no money: a lost answer needs no reversal.
func (c *Client) Balance(ctx context.Context, s connector.Sale) (connector.BalanceResult, error) {
	t, card := c.cardholder(s)
	req, err := t.NewBalance(s.Trace, card)
	if err != nil {
		return connector.BalanceResult{}, err
	}
	resp, err := c.Exchange(ctx, req)
	if err != nil {
		return connector.BalanceResult{}, err
	}
	res := connector.BalanceResult{ResponseCode: resp.ResponseCode}
	if resp.ResponseCode == "00" {
		res.Balance = resp.Amount
	}
	return res, nil
}
