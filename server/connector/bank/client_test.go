package bank

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"
	"github.com/moov-io/iso8583-connection/server"

	"github.com/multipos/multipos/cardkeys"
	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/server/connector"
)

// Special traces and amounts the test host reacts to.
const (
	traceNoAnswer = "999999" // never answered: the client must time out
	traceBadMAC   = "888888" // answered 00 with a wrong MAC
	traceSlow     = "777777" // answered after 100 ms
	amountNSF     = 5100     // declined 51, without MAC
)

type testHost struct {
	tmk  []byte
	keys cardkeys.WorkingKeys
	mac  *cardkeys.MACKey
	srv  *server.Server
}

func startHost(t *testing.T) *testHost {
	t.Helper()
	h := &testHost{
		tmk: hexb(t, "0123456789ABCDEFFEDCBA9876543210"),
		keys: cardkeys.WorkingKeys{
			PIN: hexb(t, "11111111111111112222222222222222"),
			MAC: hexb(t, "33333333333333334444444444444444"),
		},
	}
	h.mac, _ = cardkeys.NewMACKey(h.keys.MAC)
	// The connection library reports errors from goroutines of its own,
	// which can outlive the test: a log after it ended is a data race.
	var (
		mu    sync.Mutex
		ended bool
	)
	t.Cleanup(func() { mu.Lock(); ended = true; mu.Unlock() })
	logf := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if !ended {
			t.Logf("host connection: %v", err)
		}
	}
	h.srv = server.New(Spec, ReadLength, WriteLength,
		connection.InboundMessageHandler(h.handle),
		connection.ErrorHandler(logf),
	)
	if err := h.srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.srv.Close)
	return h
}

func (h *testHost) handle(c *connection.Connection, in *iso8583.Message) {
	req, err := FromISO(in)
	if err != nil {
		return
	}
	resp := *req
	resp.MTI = req.MTI[:2] + string(req.MTI[2]+1) + req.MTI[3:]
	resp.PINBlock, resp.SecurityInfo, resp.Track2, resp.MAC = nil, "", "", nil
	resp.LocalTime, resp.LocalDate, resp.ResponseCode = "153022", "1125", "00"
	sign := true
	switch {
	case req.MTI == MTISignOn:
		resp.Field62, _ = cardkeys.EncodeWorkingKeys(h.tmk, h.keys)
		sign = false
	case VerifyMessage(h.mac, in) != nil:
		resp.ResponseCode, sign = "A0", false
	case req.Amount == amountNSF:
		resp.ResponseCode, sign = "51", false
	default:
		resp.RRN, resp.AuthCode = "532915"+req.Trace, "A1B2C3"
	}
	switch req.Trace {
	case traceNoAnswer:
		return
	case traceSlow:
		time.Sleep(100 * time.Millisecond)
	}
	out, err := resp.ToISO()
	if err != nil {
		return
	}
	if sign {
		_ = SignMessage(h.mac, out)
		if req.Trace == traceBadMAC {
			b, _ := out.GetBytes(64)
			b[0] ^= 1
			_ = out.BinaryField(64, b)
		}
	}
	_ = c.Reply(out)
}

func dialHost(t *testing.T, h *testHost, timeout time.Duration) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := Dial(ctx, Config{
		Addr:      h.srv.Addr,
		Terminal:  testTerm,
		MasterKey: h.tmk,
		Timeout:   timeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func saleReq(trace string, amount int64, tid string) connector.Sale {
	var pb [8]byte
	copy(pb[:], testPIN)
	return connector.Sale{
		TerminalID: tid, MerchantID: testTerm.MerchantID, Trace: trace, Amount: amount,
		PAN: testCard.PAN, Expiry: testCard.Expiry, Track2: testCard.Track2, Entry: "021", PINBlock: pb,
	}
}

func TestClientAgainstHost(t *testing.T) {
	h := startHost(t)
	c := dialHost(t, h, 2*time.Second)
	ctx := context.Background()

	if _, err := c.Sale(ctx, saleReq("000001", 100, testTerm.TerminalID)); !errors.Is(err, ErrNotSignedOn) {
		t.Fatalf("sale before sign-on: %v", err)
	}

	keys, err := c.SignOn(ctx, "000001")
	if err != nil {
		t.Fatal(err)
	}
	if string(keys.MAC) != string(h.keys.MAC) || string(c.PINKey()) != string(h.keys.PIN) {
		t.Fatal("sign-on installed the wrong keys")
	}

	t.Run("0210 approved", func(t *testing.T) {
		res, err := c.Sale(ctx, saleReq("000002", 12345, testTerm.TerminalID))
		if err != nil {
			t.Fatal(err)
		}
		if !res.Approved() || res.AuthCode != "A1B2C3" || res.RRN != "532915000002" || res.Batch != "000001" {
			t.Fatalf("%+v", res)
		}
	})
	t.Run("0210 declined", func(t *testing.T) {
		res, err := c.Sale(ctx, saleReq("000003", amountNSF, testTerm.TerminalID))
		if err != nil {
			t.Fatal(err)
		}
		if res.ResponseCode != "51" || cards.ResponseText(res.ResponseCode, true) != "余额不足" {
			t.Fatalf("%+v", res)
		}
	})
	t.Run("0210 balance, void; 0230 refund", func(t *testing.T) {
		must := mustMsg(t)
		orig := Original{Batch: "000001", Trace: "000002", RRN: "532915000002", Date: "1125"}
		for _, req := range []*Message{
			must(testTerm.NewBalance("000004", testCard)),
			must(testTerm.NewVoid("000005", 12345, testCard, orig)),
			must(testTerm.NewRefund("000006", 2345, testCard, orig)),
		} {
			resp, err := c.Exchange(ctx, req)
			if err != nil {
				t.Fatalf("%s %s: %v", req.MTI, req.ProcCode, err)
			}
			if resp.ResponseCode != "00" || resp.Trace != req.Trace || resp.Original != req.Original {
				t.Fatalf("%s", resp)
			}
		}
	})
	t.Run("0410 reversal", func(t *testing.T) {
		rev := connector.Reversal{TerminalID: testTerm.TerminalID, MerchantID: testTerm.MerchantID, Kind: "sale",
			Trace: "000002", Batch: testTerm.Batch, Amount: 12345, Entry: "chip", PIN: true}
		if err := c.Reverse(ctx, rev); err != nil {
			t.Fatal(err)
		}
		// Without its batch a reversal would name another transaction, or
		// none: it is refused before it leaves.
		rev.Batch = ""
		if err := c.Reverse(ctx, rev); err == nil || errors.Is(err, connector.ErrUnknownOutcome) {
			t.Fatalf("a reversal without its batch: %v", err)
		}
	})
	t.Run("timeout is unknown outcome", func(t *testing.T) {
		tctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.Sale(tctx, saleReq(traceNoAnswer, 100, testTerm.TerminalID))
		if !errors.Is(err, ErrTimeout) || !errors.Is(err, connector.ErrUnknownOutcome) {
			t.Fatalf("got %v", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("timeout took %v", d)
		}
	})
	t.Run("bad MAC on approval is unknown outcome", func(t *testing.T) {
		_, err := c.Sale(ctx, saleReq(traceBadMAC, 100, testTerm.TerminalID))
		if !errors.Is(err, cardkeys.ErrBadMAC) || !errors.Is(err, connector.ErrUnknownOutcome) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("matching on trace and terminal", func(t *testing.T) {
		// Same trace from two terminals on one link; the first answer comes
		// back last. Each must get its own (checkAnswer rejects the other).
		// The test host has one key pair for every terminal.
		if err := c.SetTerminalKeys("87654321", h.keys); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		for _, tid := range []string{testTerm.TerminalID, "87654321"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := c.Sale(ctx, saleReq(traceSlow, 100, tid))
				if err == nil && !res.Approved() {
					err = errors.New("declined " + res.ResponseCode)
				}
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestClientCancel(t *testing.T) {
	h := startHost(t)
	c := dialHost(t, h, 300*time.Millisecond)
	if err := c.SetKeys(h.keys); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := c.Sale(ctx, saleReq(traceNoAnswer, 100, testTerm.TerminalID))
	if !errors.Is(err, context.Canceled) || !errors.Is(err, connector.ErrUnknownOutcome) {
		t.Fatalf("got %v", err)
	}
	// Already cancelled: nothing is sent, so the outcome is known.
	if _, err := c.Sale(ctx, saleReq("000010", 100, testTerm.TerminalID)); errors.Is(err, connector.ErrUnknownOutcome) {
		t.Fatalf("got %v", err)
	}
}
