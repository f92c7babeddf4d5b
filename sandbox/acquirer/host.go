package acquirer

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/server/connector/bank"
)

// Options configures a Host.
type Options struct {
	Now    func() time.Time // default time.Now
	Logger *slog.Logger     // default slog.Default()
	// MasterKey returns a terminal's master key (16 or 24 bytes) as the bank
	// knows it; false for a terminal the bank does not know.
	MasterKey func(terminalID string) ([]byte, bool)
	// SettlementDir is where WriteSettlement puts its files.
	SettlementDir string
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
	keys      map[string]bank.WorkingKeys // terminal → working keys
	balances  map[string]int64            // test card ID → fen
	pinFails  map[string]int              // test card ID → wrong PINs in a row
	ledger    []Entry
	byTrace   map[string]int          // terminal|trace → index in ledger
	answers   map[string]bank.Message // terminal|trace|MTI → answer, for repeats
	seq       int
	drop      int
	dropRev   int
	failRev   int       // reversals to refuse, with failCode
	failCode  string    // e.g. "96"
	day       time.Time // the business day of the last request, for the daily settlement file
	calls     int
	reversals int
	delay     time.Duration
	listeners []net.Listener
	conns     map[net.Conn]struct{}
	closed    bool

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
	opts.Now = func() time.Time { return clock().In(CST) }
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MasterKey == nil {
		opts.MasterKey = func(string) ([]byte, bool) { return nil, false }
	}
	h := &Host{
		opts: opts, log: opts.Logger.With("sandbox", "acquirer"),
		keys: map[string]bank.WorkingKeys{}, balances: map[string]int64{}, pinFails: map[string]int{},
		byTrace: map[string]int{}, answers: map[string]bank.Message{}, conns: map[net.Conn]struct{}{},
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

// DropNext makes the host process the next n requests (booking them if
// approved) and never answer them: the lost answer a reversal is for.
// A dropped 0800 still replaces the terminal's working keys, as a real host
// would, so the terminal's MACs fail (A0) until it signs on again.
func (h *Host) DropNext(n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.drop += n
}

// closeDay writes the settlement file of the day before when the first
// request of a new business day comes (with SettlementDir set). Called
// with h.mu held; the file is written aside, as WriteSettlement reads the
// ledger under the lock.
func (h *Host) closeDay() {
	now := h.opts.Now()
	y, m, d := now.Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, now.Location())
	prev := h.day
	h.day = today
	if h.opts.SettlementDir == "" || prev.IsZero() || !today.After(prev) {
		return
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		if path, err := h.WriteSettlement(prev); err != nil {
			h.log.Error("daily settlement file", "day", prev.Format("2006-01-02"), "err", err)
		} else {
			h.log.Info("daily settlement file", "day", prev.Format("2006-01-02"), "path", path)
		}
	}()
}

// LoseNextReply is DropNext(1): the next request is booked and its answer lost.
func (h *Host) LoseNextReply() { h.DropNext(1) }

// DropNextReversals makes the host undo the next n reversals and never
// answer them, so the terminal must send them again.
func (h *Host) DropNextReversals(n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dropRev += n
}

// FailNextReversals makes the host answer the next n reversals with code
// (e.g. 96, system malfunction) without undoing anything: the
// terminal must take that as no reversal and send it again.
func (h *Host) FailNextReversals(n int, code string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failRev, h.failCode = n, code
}

// Calls is how many financial requests (sales, voids, refunds, balance
// inquiries) with a valid MAC reached the host, repeats included.
func (h *Host) Calls() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls
}

// Reversals is how many reversals the host answered.
func (h *Host) Reversals() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reversals
}

// DelayNext delays the answer to the next request by d.
func (h *Host) DelayNext(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.delay = d
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
	switch {
	case h.drop > 0:
		h.drop--
		answer = false
	case req.MTI == bank.MTIReversal && h.dropRev > 0:
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

// pack encodes resp, MACing it when the terminal has a MAC key (not an
// 0810: the keys it carries are what the MAC would be checked with).
func (h *Host) pack(resp *bank.Message) ([]byte, error) {
	msg, err := resp.ToISO()
	if err != nil {
		return nil, err
	}
	if k, ok := h.keys[resp.TerminalID]; ok && resp.MTI != bank.MTISignOnResponse {
		mk, err := bank.NewMACKey(k.MAC)
		if err != nil {
			return nil, err
		}
		if err := mk.Sign(msg); err != nil {
			return nil, err
		}
	}
	return msg.Pack()
}

// decide is called with h.mu held. It returns the answer and whether to send it.
func (h *Host) decide(req *bank.Message, raw []byte) (*bank.Message, bool) {
	resp := answerTo(req, h.opts.Now())
	if req.MTI == bank.MTISignOn {
		return h.signOn(req, resp), true
	}
	k, ok := h.keys[req.TerminalID]
	if !ok || !macOK(k.MAC, raw) {
		// Not cached: a request with a bad MAC is not the terminal's, and its
		// genuine repeat must still be processed.
		resp.ResponseCode = CodeBadMAC
		return resp, true
	}
	if req.MTI != bank.MTIReversal {
		h.calls++
	}
	key := req.TerminalID + "|" + req.Trace + "|" + req.MTI
	if prev, ok := h.answers[key]; ok {
		// A repeat (the terminal never saw our answer): same answer, nothing
		// booked again.
		return &prev, answered(req)
	}
	switch {
	case req.MTI == bank.MTISale && req.ProcCode == bank.ProcSale:
		h.sale(req, resp, k)
	case req.MTI == bank.MTISale && req.ProcCode == bank.ProcVoid:
		h.void(req, resp, k)
	case req.MTI == bank.MTISale && req.ProcCode == bank.ProcBalance:
		h.balance(req, resp, k)
	case req.MTI == bank.MTIRefund && req.ProcCode == bank.ProcRefund:
		h.refund(req, resp, k)
	case req.MTI == bank.MTIReversal && h.failRev > 0:
		h.failRev--
		resp.ResponseCode = h.failCode
		return resp, true // not kept: the repeat must be decided again
	case req.MTI == bank.MTIReversal:
		h.reverse(req, resp)
	default:
		resp.ResponseCode = CodeInvalidTxn
	}
	h.answers[key] = *resp
	return resp, answered(req)
}

// answered is false for the NoAnswer card's requests (not its reversals,
// which carry no PAN): they are decided and booked, and every repeat too
// goes unanswered, so the terminal's only way out is the reversal.
func answered(req *bank.Message) bool {
	c, ok := findCard(req.PAN)
	return !ok || c.Behaviour != NoAnswer || req.MTI == bank.MTIReversal
}

func macOK(key, raw []byte) bool {
	mk, err := bank.NewMACKey(key)
	return err == nil && mk.VerifyBytes(raw) == nil
}

// answerTo copies what the answer echoes (no PIN, track 2 or MAC).
func answerTo(req *bank.Message, now time.Time) *bank.Message {
	resp := *req
	if len(req.MTI) == 4 && req.MTI[2] < '9' {
		resp.MTI = req.MTI[:2] + string(req.MTI[2]+1) + req.MTI[3:]
	}
	resp.PINBlock, resp.SecurityInfo, resp.Track2, resp.MAC, resp.ICCData = nil, "", "", nil, nil
	resp.Field62, resp.ResponseCode, resp.AuthCode = nil, "", ""
	resp.LocalTime, resp.LocalDate = now.Format("150405"), now.Format("0102")
	return &resp
}

func (h *Host) signOn(req, resp *bank.Message) *bank.Message {
	tmk, ok := h.opts.MasterKey(req.TerminalID)
	if !ok {
		resp.ResponseCode = CodeUnknownTerminal
		return resp
	}
	k := bank.WorkingKeys{PIN: randomKey(), MAC: randomKey()}
	f62, err := bank.EncodeWorkingKeys(tmk, k)
	if err != nil {
		h.log.Error("sign-on: bad master key", "terminal", req.TerminalID, "err", err)
		resp.ResponseCode = CodeUnknownTerminal
		return resp
	}
	h.keys[req.TerminalID] = k
	resp.Field62, resp.ResponseCode = f62, CodeApproved
	return resp
}

func randomKey() []byte {
	k := make([]byte, 16)
	_, _ = rand.Read(k) // crypto/rand.Read never fails
	return k
}

// cardID names the test card with that PAN ("" for none), so that the
// ledger and balances need not hold full PANs.
func cardID(pan string) string {
	c, _ := findCard(pan)
	return c.ID
}

func findCard(pan string) (TestCard, bool) {
	for _, c := range TestCards() {
		if c.PAN == pan {
			return c, true
		}
	}
	return TestCard{}, false
}

// checkCard runs the issuer's card and PIN checks in a host's order and
// returns the refusal code, or "" when the cardholder is verified.
func (h *Host) checkCard(req *bank.Message, k bank.WorkingKeys, needPIN bool) (TestCard, string) {
	c, ok := findCard(req.PAN)
	if !ok || req.Expiry != c.Expiry {
		return c, CodeInvalidCard
	}
	if c.Behaviour == Expired || c.Expiry < h.opts.Now().Format("0601") {
		return c, CodeExpiredCard
	}
	if h.pinFails[c.ID] >= MaxPINTries {
		return c, CodePINTriesExceeded
	}
	if req.PINBlock == nil {
		if needPIN {
			return c, CodeIncorrectPIN
		}
		return c, ""
	}
	if !h.pinOK(req, c, k) {
		h.pinFails[c.ID]++
		if h.pinFails[c.ID] >= MaxPINTries {
			return c, CodePINTriesExceeded
		}
		return c, CodeIncorrectPIN
	}
	h.pinFails[c.ID] = 0
	return c, ""
}

func (h *Host) pinOK(req *bank.Message, c TestCard, k bank.WorkingKeys) bool {
	if len(req.PINBlock) != 8 || c.Behaviour == RefusePIN {
		return false
	}
	clearBlock, err := cards.DecryptPINBlock(k.PIN, [8]byte(req.PINBlock))
	if err != nil {
		return false
	}
	pin, err := cards.PINFromBlock0(clearBlock, req.PAN)
	clear(clearBlock[:])
	return err == nil && pin == c.PIN
}

// issuer applies the card's behaviour to a debit of amount fen.
func (h *Host) issuer(c TestCard, amount int64) string {
	switch c.Behaviour {
	case Insufficient:
		return CodeInsufficientFunds
	case IssuerUnavailable:
		return CodeIssuerUnavailable
	}
	if amount > h.balances[c.ID] {
		return CodeInsufficientFunds
	}
	return ""
}

func (h *Host) approve(resp *bank.Message) {
	h.seq++
	now := h.opts.Now()
	resp.ResponseCode = CodeApproved
	resp.RRN = fmt.Sprintf("%s%06d", now.Format("060102"), h.seq%1_000_000)
	resp.AuthCode = fmt.Sprintf("%06d", (h.seq*7919)%1_000_000)
}

func (h *Host) book(req, resp *bank.Message, typ TxnType, orig string) {
	now := h.opts.Now()
	e := Entry{
		Type: typ, TerminalID: req.TerminalID, MerchantID: req.MerchantID, Trace: req.Trace,
		Amount: req.Amount, MaskedPAN: bank.MaskPAN(req.PAN), ResponseCode: resp.ResponseCode,
		Approved: resp.ResponseCode == CodeApproved, RRN: resp.RRN, AuthCode: resp.AuthCode,
		Original: orig, At: now, Date: now.Format("0102"), cardID: cardID(req.PAN),
		EntryMode: req.EntryMode, ICCBytes: len(req.ICCData),
	}
	h.byTrace[req.TerminalID+"|"+req.Trace] = len(h.ledger)
	h.ledger = append(h.ledger, e)
}

func (h *Host) sale(req, resp *bank.Message, k bank.WorkingKeys) {
	c, code := h.checkCard(req, k, true)
	if code == "" && req.Amount <= 0 {
		code = CodeInvalidAmount
	}
	if code == "" {
		code = h.issuer(c, req.Amount)
	}
	if code != "" {
		resp.ResponseCode = code
	} else {
		h.approve(resp)
		h.balances[c.ID] -= req.Amount
	}
	h.book(req, resp, Sale, "")
}

func (h *Host) balance(req, resp *bank.Message, k bank.WorkingKeys) {
	c, code := h.checkCard(req, k, true)
	if code == "" && c.Behaviour == IssuerUnavailable {
		code = CodeIssuerUnavailable
	}
	if code != "" {
		resp.ResponseCode = code
		return
	}
	h.approve(resp)
	resp.Amount = h.balances[c.ID] // see doc.go: no field 54 in bank.Spec
}

// original finds the sale field 61 points at (batch 6 + trace 6 [+ MMDD]).
func (h *Host) original(req *bank.Message) (*Entry, string) {
	if len(req.Original) < 12 {
		return nil, ""
	}
	i, ok := h.byTrace[req.TerminalID+"|"+req.Original[6:12]]
	if !ok || h.ledger[i].Type != Sale {
		return nil, ""
	}
	return &h.ledger[i], req.Original[6:12]
}

func (h *Host) void(req, resp *bank.Message, k bank.WorkingKeys) {
	o, trace := h.original(req)
	code := ""
	switch {
	case o == nil:
		code = CodeNotFound
	case !o.Approved || o.Voided || o.Reversed || o.Refunded > 0 || o.cardID != cardID(req.PAN) ||
		o.At.Format("20060102") != h.opts.Now().Format("20060102"):
		code = CodeInvalidTxn
	case req.Amount != o.Amount:
		code = CodeInvalidAmount
	}
	if code == "" {
		_, code = h.checkCard(req, k, false)
	}
	if code != "" {
		resp.ResponseCode = code
	} else {
		h.approve(resp)
		o.Voided = true
		h.balances[cardID(req.PAN)] += req.Amount
	}
	h.book(req, resp, Void, trace)
}

func (h *Host) refund(req, resp *bank.Message, k bank.WorkingKeys) {
	o, trace := h.original(req)
	code := ""
	switch {
	case o == nil:
		code = CodeNotFound
	case len(req.Original) != 16 || req.Original[12:] != o.Date:
		code = CodeNotFound // the date is part of how the original is named
	case !o.Approved || o.Voided || o.Reversed || o.cardID != cardID(req.PAN):
		code = CodeInvalidTxn
	case req.Amount <= 0 || o.Refunded+req.Amount > o.Amount:
		code = CodeInvalidAmount
	}
	if code == "" {
		_, code = h.checkCard(req, k, false)
	}
	if code != "" {
		resp.ResponseCode = code
	} else {
		h.approve(resp)
		o.Refunded += req.Amount
		h.balances[cardID(req.PAN)] += req.Amount
	}
	h.book(req, resp, Refund, trace)
}

// reverse undoes whatever was booked under the request's trace. The answer
// is 00 whether or not anything was booked: the terminal only needs to know
// that nothing stays charged.
func (h *Host) reverse(req, resp *bank.Message) {
	resp.ResponseCode = CodeApproved
	i, ok := h.byTrace[req.TerminalID+"|"+req.Trace]
	if !ok {
		h.log.Info("reversal of nothing booked", "terminal", req.TerminalID, "trace", req.Trace)
		return
	}
	e := &h.ledger[i]
	if !e.Approved || e.Reversed {
		return
	}
	e.Reversed = true
	var o *Entry
	if e.Original != "" {
		if j, ok := h.byTrace[e.TerminalID+"|"+e.Original]; ok {
			o = &h.ledger[j]
		}
	}
	switch e.Type {
	case Sale:
		h.balances[e.cardID] += e.Amount
	case Void:
		if o != nil {
			o.Voided = false
		}
		h.balances[e.cardID] -= e.Amount
	case Refund:
		if o != nil {
			o.Refunded -= e.Amount
		}
		h.balances[e.cardID] -= e.Amount
	}
}
