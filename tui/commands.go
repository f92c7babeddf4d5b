package tui

import (
	"context"
	"encoding/hex"
	"errors"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/devices"
	"github.com/multipos/multipos/devices/power"
	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/receipts"
)

// Every function here returns a tea.Cmd: the only place the app does I/O.
// A Cmd captures plain values and returns a message; it never touches a
// model, and it never sleeps: a delay is a tea.Tick whose message a component
// turns into the next command. Each takes the app's context (Common.ctx),
// cancelled when the app quits, so nothing the app started outlives it.

func (o Options) timeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return 15 * time.Second
}

// payTimeout bounds calls that wait for a wallet or the bank: well above the
// server's own channel timeout, so the terminal never gives up on a payment
// the server is still finishing.
func (o Options) payTimeout() time.Duration {
	if o.PayTimeout > 0 {
		return o.PayTimeout
	}
	return 75 * time.Second
}

func (o Options) pingEvery() time.Duration {
	if o.PingEvery > 0 {
		return o.PingEvery
	}
	return 2 * time.Second
}

func (o Options) requestWait() time.Duration {
	if o.RequestWait > 0 {
		return o.RequestWait
	}
	return 25 * time.Second
}

func fetchTerminal(ctx context.Context, o Options) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, o.timeout())
		defer cancel()
		info, err := o.Gateway.Terminal(ctx)
		return terminalMsg{info: info, err: err}
	}
}

// ping is the heartbeat: it measures the link, acknowledges the results
// in acks (a copy: the Cmd never touches the model's slice) and brings back
// results the server has not seen acknowledged.
func ping(ctx context.Context, o Options, acks []string) tea.Cmd {
	acks = append([]string(nil), acks...)
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		start := time.Now()
		ans, err := o.Gateway.Heartbeat(ctx, api.Heartbeat{AppVersion: o.AppVersion, Acks: acks})
		if err != nil {
			return pingMsg{err: err}
		}
		return pingMsg{rtt: time.Since(start), acked: acks, unseen: ans.Undelivered}
	}
}

func clockTick() tea.Cmd {
	return tea.Every(time.Second, func(t time.Time) tea.Msg { return clockMsg(t) })
}

// after is a delay as a message: the component that asked turns it into
// the command it waits for (a heartbeat, a power or device reading).
func after(d time.Duration, msg tea.Msg) tea.Cmd {
	return tea.Tick(d, func(time.Time) tea.Msg { return msg })
}

func readPower(o Options) tea.Cmd {
	if o.PowerRoot == "" {
		return nil
	}
	return func() tea.Msg {
		st, err := power.Read(o.PowerRoot)
		if err != nil {
			return powerMsg{}
		}
		return powerMsg{text: [2]string{st.Text(i18n.ZH), st.Text(i18n.EN)}}
	}
}

func readDevices(ctx context.Context, o Options) tea.Cmd {
	return func() tea.Msg {
		var m deviceMsg
		if o.Reader != nil {
			m.reader = o.Reader.State()
		}
		if o.Printer != nil {
			ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			st, err := o.Printer.Status(ctx)
			if err != nil && (st == devices.PrinterReady || st == devices.PrinterNone) {
				st = printerStateOf(err) // a state that says what is wrong wins over the error
			}
			m.printer = st
		}
		return m
	}
}

// listenReader waits for the next card reader event; the status bar issues it
// again after each one (glow's one-result-per-Cmd streaming pattern).
func listenReader(ctx context.Context, o Options) tea.Cmd {
	if o.Reader == nil {
		return nil
	}
	ch := o.Reader.Events()
	return func() tea.Msg {
		select {
		case ev, ok := <-ch:
			if !ok {
				return readerClosedMsg{}
			}
			return readerMsg{ev: ev}
		case <-ctx.Done():
			return nil
		}
	}
}

// createOrder takes a trace number and creates the wallet QR order.
func createOrder(ctx context.Context, o Options, pay int, ch api.Channel, amount int64) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, o.payTimeout())
		defer cancel()
		var ord api.Order
		trace, _, err := posclient.WithTrace(o.Traces, "", "", func(trace, reqID string) error {
			var err error
			ord, err = o.Gateway.CreateWalletOrder(ctx, reqID, api.CreateWalletOrder{
				Trace: trace, Channel: ch, Amount: amount, Subject: "multipos " + string(ch),
			})
			return err
		})
		return orderMsg{pay: pay, op: opCreate, trace: trace, order: ord, err: err}
	}
}

// createBarcode charges a scanned payment code. The trace and request id
// are the payment's, taken once, so that a retry is the same request.
func createBarcode(ctx context.Context, o Options, pay int, ch api.Channel, amount int64, trace, reqID, code string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, o.payTimeout())
		defer cancel()
		var ord api.Order
		trace, reqID, err := posclient.WithTrace(o.Traces, trace, reqID, func(trace, reqID string) error {
			var err error
			ord, err = o.Gateway.CreateBarcodeOrder(ctx, reqID, api.CreateBarcodeOrder{
				Trace: trace, Channel: ch, Amount: amount, Subject: "multipos " + string(ch), AuthCode: code,
			})
			return err
		})
		return orderMsg{pay: pay, op: opCreate, trace: trace, reqID: reqID, order: ord, err: err}
	}
}

// showCode asks the trainer's customer for a payment code (demo).
func showCode(ctx context.Context, o Options, pay int, ch api.Channel, confirm bool) tea.Cmd {
	if o.Trainer == nil {
		return nil
	}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, o.timeout())
		defer cancel()
		code, err := o.Trainer.ShowCode(ctx, ch, confirm)
		return shownCodeMsg{pay: pay, code: code, err: err}
	}
}

// waitOrder long-polls the server until the order changes past version after.
func waitOrder(ctx context.Context, o Options, pay int, id string, after int) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, o.requestWait()+o.timeout())
		defer cancel()
		ord, err := o.Gateway.WaitOrder(ctx, id, after, o.requestWait())
		return orderMsg{pay: pay, op: opWait, order: ord, err: err}
	}
}

func cancelOrder(ctx context.Context, o Options, pay int, id string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, o.payTimeout())
		defer cancel()
		ord, err := o.Gateway.CancelOrder(ctx, id)
		return orderMsg{pay: pay, op: opCancel, order: ord, err: err}
	}
}

// lookupTrace asks the server what became of the request sent with trace.
// An *api.Error with CodeNotFound means the request never arrived.
func lookupTrace(ctx context.Context, o Options, pay int, trace string) tea.Cmd {
	return func() tea.Msg {
		if trace == "" { // no trace was even taken: nothing was sent
			return orderMsg{pay: pay, op: opLookup, err: &api.Error{Code: api.CodeNotFound, Message: "no trace number"}}
		}
		ctx, cancel := context.WithTimeout(ctx, o.timeout())
		defer cancel()
		ord, err := o.Gateway.OrderByTrace(ctx, trace)
		return orderMsg{pay: pay, op: opLookup, trace: trace, order: ord, err: err}
	}
}

// cancelTrace closes the wallet order created with trace, if there is one:
// for a create whose answer was lost.
func cancelTrace(ctx context.Context, o Options, pay int, trace string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, o.payTimeout())
		defer cancel()
		ord, err := o.Gateway.OrderByTrace(ctx, trace)
		if err == nil && !ord.State.Final() {
			ord, err = o.Gateway.CancelOrder(ctx, ord.ID)
		}
		return orderMsg{pay: pay, op: opCancel, trace: trace, order: ord, err: err}
	}
}

// cardSale sends the sale. The trace and request id are taken once per
// payment and reused on a retry, so the server's idempotency makes a retry
// safe.
func cardSale(ctx context.Context, o Options, pay int, trace, reqID string, req api.CardSale, pinBlock [8]byte) tea.Cmd {
	return func() tea.Msg {
		req.PINBlock = hex.EncodeToString(pinBlock[:])
		ctx, cancel := context.WithTimeout(ctx, o.payTimeout())
		defer cancel()
		var ord api.Order
		trace, reqID, err := posclient.WithTrace(o.Traces, trace, reqID, func(trace, reqID string) error {
			req.Trace = trace
			var err error
			ord, err = o.Gateway.CardSale(ctx, reqID, req)
			return err
		})
		return orderMsg{pay: pay, op: opSale, trace: trace, reqID: reqID, order: ord, err: err}
	}
}

// findOriginal looks up the terminal's sale with trace, for a void or refund.
func findOriginal(ctx context.Context, o Options, pay int, trace string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, o.timeout())
		defer cancel()
		ord, err := o.Gateway.OrderByTrace(ctx, trace)
		return orderMsg{pay: pay, op: opOriginal, trace: trace, order: ord, err: err}
	}
}

// cardAdjust sends a void or refund; like a sale, a trace and request id
// are taken once and kept for resends.
func cardAdjust(ctx context.Context, o Options, pay int, kind api.Kind, trace, reqID string, req api.CardAdjust) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, o.payTimeout())
		defer cancel()
		var ord api.Order
		trace, reqID, err := posclient.WithTrace(o.Traces, trace, reqID, func(trace, reqID string) error {
			req.Trace = trace
			var err error
			if kind == api.KindCardVoid {
				ord, err = o.Gateway.CardVoid(ctx, reqID, req)
			} else {
				ord, err = o.Gateway.CardRefund(ctx, reqID, req)
			}
			return err
		})
		return orderMsg{pay: pay, op: opSale, trace: trace, reqID: reqID, order: ord, err: err}
	}
}

// cardBalance sends a balance inquiry under a fresh trace.
func cardBalance(ctx context.Context, o Options, pay int, req api.CardBalance, pinBlock [8]byte) tea.Cmd {
	return func() tea.Msg {
		req.PINBlock = hex.EncodeToString(pinBlock[:])
		ctx, cancel := context.WithTimeout(ctx, o.payTimeout())
		defer cancel()
		var res api.Balance
		trace, _, err := posclient.WithTrace(o.Traces, "", "", func(trace, _ string) error {
			req.Trace = trace
			var err error
			res, err = o.Gateway.CardBalance(ctx, req)
			return err
		})
		return balanceMsg{pay: pay, trace: trace, res: res, err: err}
	}
}

// signOnCmd asks the server for card working keys (fresh ones with renew);
// the answer is installed by the sign-on component, which owns the keys' state.
func signOnCmd(ctx context.Context, o Options, renew bool) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, o.payTimeout())
		defer cancel()
		var res api.SignedOn
		trace, _, err := posclient.WithTrace(o.Traces, "", "", func(trace, _ string) error {
			var err error
			res, err = o.Gateway.CardSignOn(ctx, trace, renew)
			return err
		})
		return signOnMsg{trace: trace, res: res, err: err}
	}
}

func retryAfter(pay int, op orderOp, d time.Duration) tea.Cmd {
	return tea.Tick(d, func(time.Time) tea.Msg { return retryMsg{pay: pay, op: op} })
}

func countdown(pay int) tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return tickMsg{pay: pay, at: t} })
}

func trainerAct(ctx context.Context, o Options, pay int, act func(context.Context) error) tea.Cmd {
	if o.Trainer == nil {
		return nil
	}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, o.timeout())
		defer cancel()
		return trainerMsg{pay: pay, err: act(ctx)}
	}
}

// removeCard plays the cardholder taking the card back once the reader is
// done with it (demo): the simulated reader then says so, as a real one does.
func removeCard(ctx context.Context, o Options) tea.Cmd {
	if o.Trainer == nil {
		return nil
	}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, o.timeout())
		defer cancel()
		_ = o.Trainer.RemoveTestCard(ctx) // no card in: nothing to take back
		return nil
	}
}

// queueReceipt stores a copy in the print queue; the worker prints it.
func queueReceipt(o Options, pay int, r receipts.Receipt) tea.Cmd {
	return func() tea.Msg {
		if o.Prints == nil {
			return queuedMsg{pay: pay, copy: int(r.Copy)}
		}
		sp := o.Prints.Spool()
		job, err := sp.Add(r)
		return queuedMsg{pay: pay, copy: int(r.Copy), job: job.ID, queued: sp.Len(), err: err}
	}
}

// listenPrints waits for the print queue's next news.
func listenPrints(ctx context.Context, o Options) tea.Cmd {
	if o.Prints == nil {
		return nil
	}
	ev := o.Prints.Events()
	return func() tea.Msg {
		select {
		case e := <-ev:
			return printEventMsg{e}
		case <-ctx.Done():
			return nil
		}
	}
}

// paperMsg says whether the demo printer's paper is out now.
type paperMsg struct {
	out bool
	err error
}

func togglePaper(o Options) tea.Cmd {
	return func() tea.Msg {
		out, err := o.Trainer.TogglePaper()
		return paperMsg{out: out, err: err}
	}
}

// dayEndMsg is the trainer's end of the day, done.
type dayEndMsg struct {
	res DayEnded
	err error
}

func endDay(ctx context.Context, d DayEnder) tea.Cmd {
	return func() tea.Msg {
		res, err := d.EndDay(ctx)
		return dayEndMsg{res: res, err: err}
	}
}

// dayEndNotice tells the trainer what to run next.
func dayEndNotice(msg dayEndMsg) text {
	switch {
	case msg.err != nil:
		return say("trainer.error", msg.err)
	case msg.res.Again:
		return say("trainer.dayagain", msg.res.Day, msg.res.Command)
	}
	return say("trainer.dayended", msg.res.Day, msg.res.Command)
}

// dayEnder is the trainer's end of the day, when it has one.
func (m Model) dayEnder() DayEnder {
	d, _ := m.o.Trainer.(DayEnder)
	return d
}

// kickPrinter makes the queue try the printer now.
func kickPrinter(o Options) tea.Cmd {
	if o.Prints == nil {
		return nil
	}
	return func() tea.Msg {
		o.Prints.Kick()
		return nil
	}
}

// openBatch asks the server for the terminal's open batch, the one a
// settlement would close.
func openBatch(ctx context.Context, o Options, pay int) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, o.timeout())
		defer cancel()
		info, err := o.Gateway.Terminal(ctx)
		if err == nil && info.Batch == "" {
			err = errors.New("the server did not say the open batch")
		}
		return openBatchMsg{pay: pay, batch: info.Batch, err: err}
	}
}

// settleCmd settles the card batch (结算) under reqID: posserver sends
// the totals to the acquirer, which can take as long as a sale.
func settleCmd(ctx context.Context, o Options, pay int, reqID string, req api.SettleBatch) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, o.payTimeout())
		defer cancel()
		res, err := o.Gateway.Settle(ctx, reqID, req)
		return settledMsg{pay: pay, res: res, err: err}
	}
}

// fetchSettlement asks how a batch settled already was settled.
func fetchSettlement(ctx context.Context, o Options, pay int, batch string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, o.timeout())
		defer cancel()
		res, err := o.Gateway.Settlement(ctx, batch)
		return settledMsg{pay: pay, res: res, fetched: true, err: err}
	}
}
