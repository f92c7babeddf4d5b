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
	cfg  Config
	conn *connection.Connection

	mu  sync.RWMutex
	mac *MACKey
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

// RequestID matches answers to requests on the trace number and terminal
// id (fields 11 and 41); exported for a host simulator on the same spec.
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
	return tid + "/" + stan, nil
}

// Dial connects to the host. It does not sign on.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	onErr := cfg.OnError
	if onErr == nil {
		onErr = func(error) {}
	}
	conn, err := connection.New(cfg.Addr, Spec, ReadLength, WriteLength,
		connection.ConnectTimeout(cfg.DialTimeout),
		connection.SendTimeout(cfg.Timeout),
		connection.SetRequestIDGenerator(RequestID{}),
		// The library's default handler logs; it must not see our traffic.
		connection.ErrorHandler(onErr),
		// A late answer to a request that timed out lands here. It is
		// dropped: the caller was told the outcome is unknown and reverses.
		connection.InboundMessageHandler(func(*connection.Connection, *iso8583.Message) {}),
	)
	if err != nil {
		return nil, fmt.Errorf("bank: %w", err)
	}
	if err := conn.ConnectCtx(ctx); err != nil {
		return nil, fmt.Errorf("bank: connect %s: %w", cfg.Addr, err)
	}
	return &Client{cfg: cfg, conn: conn}, nil
}

// Close closes the connection, waiting for requests in flight.
func (c *Client) Close() error { return c.conn.Close() }

// SetKeys installs working keys obtained elsewhere (e.g. restored after a
// restart within the same day).
func (c *Client) SetKeys(k WorkingKeys) error {
	mk, err := NewMACKey(k.MAC)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.mac, c.pik = mk, append([]byte(nil), k.PIN...)
	c.mu.Unlock()
	return nil
}

// PINKey is the PIN working key from the last sign-on (nil before), to
// encrypt PIN blocks with cards.EncryptPINBlock.
func (c *Client) PINKey() []byte {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([]byte(nil), c.pik...)
}

// SignOn sends an 0800 and installs the working keys from the 0810.
func (c *Client) SignOn(ctx context.Context, trace string) (WorkingKeys, error) {
	resp, err := c.Exchange(ctx, c.cfg.Terminal.NewSignOn(trace))
	if err != nil {
		return WorkingKeys{}, err
	}
	if resp.ResponseCode != "00" {
		return WorkingKeys{}, &DeclinedError{Code: resp.ResponseCode}
	}
	keys, err := DecodeWorkingKeys(c.cfg.MasterKey, resp.Field62)
	if err != nil {
		return WorkingKeys{}, err
	}
	return keys, c.SetKeys(keys)
}

// DeclinedError is a host answer other than 00 where the caller wanted one.
type DeclinedError struct{ Code string }

func (e *DeclinedError) Error() string {
	return "bank: declined " + e.Code + " (" + Text(e.Code, false) + ")"
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
	c.mu.RLock()
	mac := c.mac
	c.mu.RUnlock()
	macked := req.MTI != MTISignOn
	if macked {
		if mac == nil {
			return nil, ErrNotSignedOn
		}
		if err := mac.Sign(msg); err != nil {
			return nil, err
		}
	}
	timeout := c.cfg.Timeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
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
	go func() {
		raw, err := c.conn.Send(msg, connection.SendTimeout(timeout))
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
		if err := mac.Verify(raw); err != nil {
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
	t := c.cfg.Terminal
	t.TerminalID, t.MerchantID = s.TerminalID, s.MerchantID
	card := Card{PAN: s.PAN, Expiry: s.Expiry, Track2: s.Track2, EntryMode: s.Entry}
	if s.PINBlock != ([8]byte{}) {
		card.PINBlock = s.PINBlock[:]
	}
	req, err := t.NewSale(s.Trace, s.Amount, card)
	if err != nil {
		return connector.SaleResult{}, err
	}
	resp, err := c.Exchange(ctx, req)
	if err != nil {
		return connector.SaleResult{}, err
	}
	res := connector.SaleResult{ResponseCode: resp.ResponseCode, AuthCode: resp.AuthCode, RRN: resp.RRN}
	if len(resp.Field60) >= 8 {
		res.Batch = resp.Field60[2:8]
	}
	return res, nil
}

// Reverse implements connector.Acquirer with an 0400 for a purchase. Any
// 0410 counts: the host answers it whether or not it had booked the sale.
func (c *Client) Reverse(ctx context.Context, r connector.Reversal) error {
	if r.Amount <= 0 {
		return errNoAmount
	}
	req := NewReversal(&Message{
		ProcCode:      ProcSale,
		Amount:        r.Amount,
		Trace:         r.Trace,
		ConditionCode: "00",
		TerminalID:    r.TerminalID,
		MerchantID:    r.MerchantID,
		Currency:      CurrencyCNY,
		Field60:       "22" + c.cfg.Terminal.Batch,
	})
	_, err := c.Exchange(ctx, req)
	return err
}
