package netprinter

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/receipts/escpos"
)

func receipt(title string, lines int) []byte {
	e := escpos.NewEncoder(escpos.ChineseFS).Init()
	e.Align(escpos.Center).Bold(true).Println(title).Bold(false).Align(escpos.Left)
	for i := range lines {
		e.Println("第" + string(rune('0'+i%10)) + "行 line")
	}
	return e.Cut(escpos.CutPartial, 4).Bytes()
}

func dial(t *testing.T, p *Printer) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func query(t *testing.T, c net.Conn, n byte) escpos.Status {
	t.Helper()
	if _, err := c.Write(escpos.Query(n)); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	var b [1]byte
	if _, err := c.Read(b[:]); err != nil {
		t.Fatalf("DLE EOT %d: %v", n, err)
	}
	var s escpos.Status
	if err := s.Apply(n, b[0]); err != nil {
		t.Fatal(err)
	}
	return s
}

func wait(t *testing.T, p *Printer, n int) []Sheet {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := p.WaitSheets(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPrintsAndAnswers(t *testing.T) {
	p, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := dial(t, p)
	if s := query(t, c, escpos.StatusPaper); !s.Ready() {
		t.Fatalf("fresh printer: %v", s)
	}
	b := append(receipt("商户存根", 3), receipt("持卡人存根", 2)...)
	// Byte by byte: a command split across reads must not matter.
	for i := range b {
		c.Write(b[i : i+1])
	}
	sheets := wait(t, p, 2)
	if !strings.Contains(sheets[0].Text(), "{center,bold} 商户存根\n第0行 line\n") || !sheets[0].Cut || sheets[0].Torn {
		t.Errorf("first sheet:\n%s", sheets[0].Text())
	}
	if len(sheets[1].Items) != 2+2+1 || !strings.Contains(sheets[1].Text(), "持卡人存根") {
		t.Errorf("second sheet:\n%s", sheets[1].Text())
	}
	p.SetStatus(escpos.Status{CoverOpen: true})
	if s := query(t, c, escpos.StatusOffline); !s.CoverOpen {
		t.Errorf("cover open answered as %v", s)
	}
	if p.Queries() != 2 {
		t.Errorf("queries = %d", p.Queries())
	}
}

func TestPaperRunsOutMidReceipt(t *testing.T) {
	p, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := dial(t, p)
	p.PaperOutAfter(3)
	c.Write(receipt("商户存根", 10))
	if s := query(t, c, escpos.StatusPaper); !s.PaperOut {
		t.Fatalf("after running out: %v", s)
	}
	if s := query(t, c, escpos.StatusPrinter); !s.Offline {
		t.Errorf("a printer out of paper is offline: %v", s)
	}
	sheets := wait(t, p, 1)
	if !sheets[0].Torn || sheets[0].Cut || strings.Count(sheets[0].Text(), "\n") != 1+3 { // «init» and 3 lines
		t.Fatalf("torn sheet:\n%s", sheets[0].Text())
	}
	c.Write(receipt("lost", 1)) // nothing prints without paper
	if s := query(t, c, escpos.StatusPaper); !s.PaperOut {
		t.Fatalf("paper came back by itself: %v", s)
	}
	p.Refill()
	if s := query(t, c, escpos.StatusPaper); !s.Ready() {
		t.Fatalf("after refill: %v", s)
	}
	c.Write(receipt("商户存根", 10))
	sheets = wait(t, p, 2)
	if sheets[1].Torn || !sheets[1].Cut || strings.Contains(sheets[1].Text(), "lost") {
		t.Fatalf("after refill:\n%s", sheets[1].Text())
	}
}

func TestGoAwayAndComeBack(t *testing.T) {
	p, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := dial(t, p)
	addr := p.Addr()
	p.GoAway()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection still open after the printer went away")
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("printer switched off accepts connections")
	}
	if err := p.ComeBack(); err != nil {
		t.Fatal(err)
	}
	c = dial(t, p)
	c.Write(receipt("again", 1))
	if s := wait(t, p, 1); p.Addr() != addr || !strings.Contains(s[0].Text(), "again") {
		t.Fatalf("after coming back at %s: %v", p.Addr(), s)
	}
	p.Silent(true)
	c.Write(escpos.Query(escpos.StatusPaper))
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, _ := c.Read(make([]byte, 1)); n != 0 {
		t.Error("a silent printer answered")
	}
}
