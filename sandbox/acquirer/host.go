package acquirer

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/multipos/multipos/cardkeys"
	"github.com/multipos/multipos/server/connector/bank"
)

// Options configures a Host.
type Options struct {
	Now    func() time.Time // default time.Now
	Logger *slog.Logger     // default slog.Default()
	// MasterKey returns a terminal's master key (16 or 24 bytes) as the bank
	// knows it; false for a terminal the bank does not know.
	MasterKey func(terminalID string) ([]byte, bool)
	// SettlementDir is where the daily settlement files are written
	// (0600), as the host closes each day; "" keeps them in memory only.
	SettlementDir string
	// MDR is the merchant discount rate the settlement file charges, in
	// basis points of the amount (60 = 0.60%); 0 means DefaultMDR and a
	// negative rate charges nothing.
	MDR int64
	// Balance, when > 0, is what every approving card starts with instead
	// of its own balance (a load test sells far more than a card holds).
	Balance int64
}

// Response codes this host answers.
const (
	CodeApproved          = "00"
	CodeUnknownTerminal   = "03"
	CodeInvalidTxn        = "12"
	CodeInvalidAmount     = "13"
	CodeInvalidCard       = "14"
	CodeNotFound          = "25"
	CodeInsufficientFunds = "51"
	CodeExpiredCard       = "54"
	CodeIncorrectPIN      = "55"
	CodePINTriesExceeded  = "75"
	CodeIssuerUnavailable = "91"
	CodeBadMAC            = "A0"
)

// CST is the zone of the host's business dates.
var CST = time.FixedZone("CST", 8*3600)

// MaxPINTries is how many wrong PINs lock a card: the last one is answered
// 75, as is every later attempt.
const MaxPINTries = 3

// Host is the stand-in acquirer. It is safe for concurrent use.
type Host struct {
	opts Options
	log  *slog.Logger

	mu        sync.Mutex
	keys      map[string]cardkeys.WorkingKeys // terminal → working keys
	balances  map[string]int64                // test card ID → fen
	pinFails  map[string]int                  // test card ID → wrong PINs in a row
	ledger    []Entry
	byKey     map[string]int          // terminal|merchant|batch|trace → index in ledger
	seen      map[string]seenMsg      // the same key → the message first sent under it and its answer
	revAnswer map[string]bank.Message // the same key → the answer to its reversal, for repeats
	orphans   map[string]bool         // keys reversed before any original came
	batches   map[string]*batchState  // terminal|merchant|batch → its settlement, from the first 0500
	seq       int
	drop      int
	dropRev   int
	failRev   int    // reversals to refuse, with failCode
	failCode  string // e.g. "96"
	// struck is, for each reversal a fault (drop, refusal) struck, the
	// arming that did: a fault armed later never strikes it again, so that
	// faults armed one after another (by a campaign's runs at once) do not
	// all fall on the one reversal still being retried, which no single
	// fault models. dropArm, dropRevArm and failRevArm number the pending
	// armings (from armSeq).
	struck                                  map[string]int
	armSeq, dropArm, dropRevArm, failRevArm int
	day                                     time.Time // the business day of the last request, for the daily settlement file
	files                                   settleFiles
	calls                                   int
	reversals                               int
	delay                                   time.Duration
	offset                                  atomic.Int64 // Advance: the business clock ahead of Options.Now, ns
	listeners                               []net.Listener
	conns                                   map[net.Conn]struct{}
	closed                                  bool

	done chan struct{}
	wg   sync.WaitGroup
}

// New returns a host; it listens only after Listen or Serve.
func New(opts Options) *Host {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	// Dates (fields 13 and 37, same-day voids) are China Standard Time, as
	// a CUP acquirer's are, whatever the machine's zone.
	clock := opts.Now
	h := &Host{}
	opts.Now = func() time.Time { return clock().Add(time.Duration(h.offset.Load())).In(CST) }
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MasterKey == nil {
		opts.MasterKey = func(string) ([]byte, bool) { return nil, false }
	}
	*h = Host{
		opts: opts, log: opts.Logger.With("sandbox", "acquirer"),
		keys: map[string]cardkeys.WorkingKeys{}, balances: map[string]int64{}, pinFails: map[string]int{},
		byKey: map[string]int{}, seen: map[string]seenMsg{}, revAnswer: map[string]bank.Message{}, orphans: map[string]bool{},
		batches: map[string]*batchState{}, conns: map[net.Conn]struct{}{},
		done: make(chan struct{}),
	}
	for _, c := range TestCards() {
		h.balances[c.ID] = c.Balance
		if opts.Balance > 0 && c.Balance > 0 {
			h.balances[c.ID] = opts.Balance
		}
	}
	return h
}

// Listen listens on addr (e.g. "127.0.0.1:0") and serves in the background.
// It returns the address actually bound.
func (h *Host) Listen(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("acquirer: %w", err)
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		_ = h.Serve(ln)
	}()
	return ln.Addr().String(), nil
}

// ErrClosed is returned by Serve after Close.
var ErrClosed = errors.New("acquirer: closed")

// Serve accepts connections on ln until Close; it closes ln.
func (h *Host) Serve(ln net.Listener) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		_ = ln.Close()
		return ErrClosed
	}
	h.listeners = append(h.listeners, ln)
	h.mu.Unlock()
	for {
		c, err := ln.Accept()
		if err != nil {
			select {
			case <-h.done:
				return ErrClosed
			default:
				return fmt.Errorf("acquirer: accept: %w", err)
			}
		}
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			_ = c.Close()
			return ErrClosed
		}
		h.conns[c] = struct{}{}
		h.wg.Add(1)
		h.mu.Unlock()
		go h.serveConn(c)
	}
}

// Close stops listening, drops every connection and waits for the
// goroutines it started (delayed answers are abandoned).
func (h *Host) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	close(h.done)
	for _, ln := range h.listeners {
		_ = ln.Close()
	}
	for c := range h.conns {
		_ = c.Close()
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// closeDay runs the host's day cut (日切) when its clock has passed into a
// new business day since the last request: the batches left open are
// settled on the host's books and the day's settlement file is frozen, and
// written to SettlementDir (aside: writing needs no lock). Called with
// h.mu held, at each request and before a file is served, so the cut
// happens at midnight as far as anyone can tell.
func (h *Host) closeDay() {
	now := h.opts.Now()
	y, m, d := now.Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, now.Location())
	prev := h.day
	h.day = today
	if prev.IsZero() || !today.After(prev) {
		return
	}
	data := h.cutDay(prev)
	if h.opts.SettlementDir == "" || h.closed {
		return
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		if path, err := writeFile(h.opts.SettlementDir, SettlementFile(prev), data); err != nil {
			h.log.Error("daily settlement file", "day", prev.Format("2006-01-02"), "err", err)
		} else {
			h.log.Info("daily settlement file", "day", prev.Format("2006-01-02"), "path", path)
		}
	}()
}

func (h *Host) serveConn(c net.Conn) {
	defer h.wg.Done()
	defer func() {
		h.mu.Lock()
		delete(h.conns, c)
		h.mu.Unlock()
		_ = c.Close()
	}()
	var wmu sync.Mutex // answers may be written from delayed goroutines
	for {
		n, err := bank.ReadLength(c)
		if err != nil {
			return
		}
		raw := make([]byte, n)
		if _, err := io.ReadFull(c, raw); err != nil {
			return
		}
		out, delay, ok := h.handle(raw)
		if !ok {
			continue
		}
		write := func() {
			wmu.Lock()
			defer wmu.Unlock()
			if _, err := bank.WriteLength(c, len(out)); err == nil {
				_, _ = c.Write(out)
			}
		}
		if delay <= 0 {
			write()
			continue
		}
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			t := time.NewTimer(delay)
			defer t.Stop()
			select {
			case <-t.C:
				write()
			case <-h.done:
			}
		}()
	}
}

// handle decides on one framed request and returns the packed answer, how
// long to hold it, and false when there is no answer to send.
func (h *Host) handle(raw []byte) ([]byte, time.Duration, bool) {
	// bank.Unpack survives hostile bytes; the MAC is checked on raw itself.
	req, err := bank.Unpack(raw)
	if err != nil || len(req.MTI) != 4 || req.Trace == "" || req.TerminalID == "" {
		h.log.Warn("unparseable request, or no MTI, trace or terminal: dropped", "bytes", len(raw))
		return nil, 0, false
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	h.closeDay()
	resp, answer := h.decide(req, raw)
	h.log.Info("request", "req", req.String(), "rc", resp.ResponseCode)
	revKey, _ := msgKey(req)
	switch {
	case h.drop > 0 && h.strikes(req, revKey, h.dropArm):
		h.drop--
		answer = false
	case req.MTI == bank.MTIReversal && h.dropRev > 0 && h.strikes(req, revKey, h.dropRevArm):
		h.dropRev--
		answer = false
	case req.MTI == bank.MTIReversal && answer && resp.ResponseCode == CodeApproved:
		h.reversals++
	}
	delay := h.delay
	h.delay = 0
	if !answer {
		return nil, 0, false
	}
	out, err := h.pack(resp)
	if err != nil {
		// Not err itself: the library's text can quote field contents.
		h.log.Error("answer could not be packed", "mti", resp.MTI, "trace", resp.Trace)
		return nil, 0, false
	}
	return out, delay, true
}

// strikes says whether a fault of arming arm may strike req (key), and
// remembers it did when req is a reversal: one another arming struck is
// spared.
func (h *Host) strikes(req *bank.Message, key string, arm int) bool {
	if req.MTI != bank.MTIReversal {
		return true
	}
	if by, ok := h.struck[key]; ok && by != arm {
		return false
	}
	if h.struck == nil {
		h.struck = map[string]int{}
	}
	h.struck[key] = arm
	return true
}

// arm numbers a new arming of a fault.
func (h *Host) arm() int {
	h.armSeq++
	return h.armSeq
}

// pack encodes resp, MACing it when the terminal has a MAC key (not an
// 0810: the keys it carries are what the MAC would be checked with).
func (h *Host) pack(resp *bank.Message) ([]byte, error) {
	msg, err := resp.ToISO()
	if err != nil {
		return nil, err
	}
	if k, ok := h.keys[resp.TerminalID]; ok && resp.MTI != bank.MTISignOnResponse {
		mk, err := cardkeys.NewMACKey(k.MAC)
		if err != nil {
			return nil, err
		}
		if err := bank.SignMessage(mk, msg); err != nil {
			return nil, err
		}
	}
	return msg.Pack()
}
