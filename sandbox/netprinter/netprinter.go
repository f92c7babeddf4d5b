package netprinter

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/multipos/multipos/receipts/escpos"
)

// Sheet is one piece of paper: what was printed from an init (ESC @) to a
// cut (or, without a cutter, a feed of three lines or more to the tear
// bar), or to where the paper ran out.
type Sheet struct {
	Items []escpos.Item
	Torn  bool      // the paper ran out in the middle of it
	Cut   bool      // it ended with a cut (or, on a printer without a cutter, a feed)
	At    time.Time // when its last byte arrived
}

// Text is the sheet decoded, as escpos.Render writes it.
func (s Sheet) Text() string { return escpos.Render(s.Items) }

// Options configure a printer.
type Options struct {
	Addr    string         // listen address; "" = 127.0.0.1:0
	Chinese escpos.Chinese // how it reads bytes ≥ 0x80 outside FS & (its default mode)
	// NoTransmit makes it a model without GS r: it never answers one.
	NoTransmit bool
}

// Printer is a running printer. Its methods are safe for concurrent use.
type Printer struct {
	opts Options
	addr string

	mu        sync.Mutex
	ln        net.Listener
	conn      net.Conn
	status    escpos.Status
	outAfter  int // lines left before the paper runs out; -1 = plenty
	silent    bool
	sheets    []Sheet
	cur       *Sheet
	queries   int
	transmits int
	garbled   int
	changed   chan struct{} // closed and replaced whenever sheets change
	listening bool
	wg        sync.WaitGroup
}

// Start listens and serves until Close.
func Start(o Options) (*Printer, error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	p := &Printer{opts: o, outAfter: -1, changed: make(chan struct{})}
	if err := p.listen(o.Addr); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Printer) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("netprinter: listen %s: %w", addr, err)
	}
	p.mu.Lock()
	p.ln, p.addr, p.listening = ln, ln.Addr().String(), true
	p.mu.Unlock()
	p.wg.Add(1)
	go p.serve(ln)
	return nil
}

// Addr is host:port to dial.
func (p *Printer) Addr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.addr
}

// serve takes one connection at a time, as a printer's single raw port
// does: a second client waits in the backlog until the first is done.
func (p *Printer) serve(ln net.Listener) {
	defer p.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.ln != ln { // switched off while this connection was being accepted
			p.mu.Unlock()
			c.Close()
			return
		}
		p.conn = c
		p.mu.Unlock()
		p.read(c)
		c.Close()
		p.mu.Lock()
		if p.conn == c {
			p.conn = nil
		}
		p.mu.Unlock()
	}
}

func (p *Printer) read(c net.Conn) {
	d := &escpos.Decoder{Chinese: p.opts.Chinese}
	seen := 0
	// A line is printed when its LF arrives (or the connection ends in
	// the middle of it). Items are taken before each status answer too, so
	// a query sees the paper as everything sent before it left it.
	take := func(all bool) {
		items := d.Done()
		if all {
			items = d.Items()
		}
		for ; seen < len(items); seen++ {
			p.print(items[seen])
		}
	}
	d.OnQuery = func(n byte) {
		take(false)
		p.mu.Lock()
		p.queries++
		silent, st := p.silent, p.status
		p.mu.Unlock()
		if !silent {
			c.Write([]byte{st.Answer(n)})
		}
	}
	d.OnTransmit = func(n byte) {
		take(false)
		p.mu.Lock()
		p.transmits++
		silent, st := p.silent || p.opts.NoTransmit, p.status
		p.mu.Unlock()
		// Answered once everything before it is printed; a printer out of
		// paper or with its cover open holds it (this one forgets it).
		if !silent && !st.PaperOut && !st.CoverOpen && (n == 1 || n == 49) {
			c.Write([]byte{st.PaperAnswer()})
		}
	}
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			d.Write(buf[:n])
			take(false)
		}
		if err != nil {
			take(true)
			p.mu.Lock()
			p.garbled += d.Garbled()
			p.mu.Unlock()
			return
		}
	}
}

// print puts one decoded item on paper, if there is paper.
func (p *Printer) print(it escpos.Item) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if it.Marker == "init" && p.cur != nil && len(p.cur.Items) > 0 {
		p.finish(false)
	}
	if p.status.PaperOut || p.status.CoverOpen {
		return // nothing prints; a real printer stops
	}
	if p.cur == nil {
		p.cur = &Sheet{At: time.Now()}
	}
	p.cur.Items = append(p.cur.Items, it)
	if it.Marker == "" && p.outAfter >= 0 {
		if p.outAfter == 0 {
			p.status.PaperOut = true
			p.cur.Items = p.cur.Items[:len(p.cur.Items)-1]
			p.finish(true)
			return
		}
		p.outAfter--
	}
	if strings.HasPrefix(it.Marker, "cut") || tearFeed(it.Marker) {
		p.finish(false)
	}
}

// tearFeed is a feed of several lines: on a printer without a cutter, the
// paper clearing the tear bar, where the cashier tears the receipt off.
func tearFeed(marker string) bool {
	var n int
	_, err := fmt.Sscanf(marker, "feed %d", &n)
	return err == nil && n >= 3 && !strings.HasSuffix(marker, "dots")
}

// finish ends the current sheet. Caller holds mu.
func (p *Printer) finish(torn bool) {
	if p.cur == nil {
		return
	}
	s := *p.cur
	s.Torn = torn
	if n := len(s.Items); n > 0 && !torn {
		last := s.Items[n-1].Marker
		s.Cut = strings.HasPrefix(last, "cut") || strings.HasPrefix(last, "feed")
	}
	s.At = time.Now()
	p.sheets = append(p.sheets, s)
	p.cur = nil
	close(p.changed)
	p.changed = make(chan struct{})
}

// Sheets returns the pieces of paper printed so far, oldest first.
func (p *Printer) Sheets() []Sheet {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Sheet(nil), p.sheets...)
}

// WaitSheets waits until at least n sheets are printed.
func (p *Printer) WaitSheets(ctx context.Context, n int) ([]Sheet, error) {
	for {
		p.mu.Lock()
		if len(p.sheets) >= n {
			s := append([]Sheet(nil), p.sheets...)
			p.mu.Unlock()
			return s, nil
		}
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return p.Sheets(), fmt.Errorf("netprinter: %d of %d sheets printed: %w", len(p.Sheets()), n, ctx.Err())
		}
	}
}

// Queries counts the DLE EOT status queries answered or ignored.
func (p *Printer) Queries() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.queries
}

// Transmits counts the GS r requests read (answered or not).
func (p *Printer) Transmits() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.transmits
}

// Garbled counts bytes that made no sense on connections that have ended.
func (p *Printer) Garbled() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.garbled
}

// Status is the printer's state as it would answer.
func (p *Printer) Status() escpos.Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status
}

// SetStatus sets the printer's state (cover open, paper low, error, …).
func (p *Printer) SetStatus(s escpos.Status) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status = s
}

// PaperOut runs out of paper now.
func (p *Printer) PaperOut() { p.PaperOutAfter(0) }

// PaperOutAfter runs out of paper after n more printed lines; the line
// that finds no paper and everything after it is lost.
func (p *Printer) PaperOutAfter(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n <= 0 {
		p.status.PaperOut = true
		if p.cur != nil && len(p.cur.Items) > 0 {
			p.finish(true)
		}
		return
	}
	p.outAfter = n
}

// Refill loads paper: the printer is ready again.
func (p *Printer) Refill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status.PaperOut, p.status.PaperLow, p.outAfter = false, false, -1
}

// Silent makes the printer ignore status queries, like a model without
// DLE EOT support, or a one-way link.
func (p *Printer) Silent(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.silent = on
}

// GoAway switches the printer off: the listener and any connection close,
// and dialling it is refused until ComeBack.
func (p *Printer) GoAway() {
	p.mu.Lock()
	ln, c := p.ln, p.conn
	p.ln, p.listening = nil, false
	p.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	if c != nil {
		c.Close()
	}
	p.wg.Wait()
}

// ComeBack switches the printer on again at the same address.
func (p *Printer) ComeBack() error {
	p.mu.Lock()
	on := p.listening
	p.mu.Unlock()
	if on {
		return nil
	}
	var err error
	for range 50 { // the old socket may linger for a moment
		if err = p.listen(p.Addr()); err == nil || !errors.Is(err, syscall.EADDRINUSE) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

// Close switches the printer off for good.
func (p *Printer) Close() error {
	p.GoAway()
	return nil
}
