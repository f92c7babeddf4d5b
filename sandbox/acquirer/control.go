package acquirer

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// LedgerEntry is a ledger entry as the control API shows it: everything a
// checker reconciling posserver's journal against the bank needs, and no
// full card number.
type LedgerEntry struct {
	Index        int    `json:"index"` // position in the ledger, oldest 0
	Type         string `json:"type"`  // sale, void or refund
	TerminalID   string `json:"terminal"`
	MerchantID   string `json:"merchant"`
	Trace        string `json:"trace"`
	Batch        string `json:"batch"`              // field 60.2 of the request
	Original     string `json:"original,omitempty"` // the sale a void or refund refers to: terminal|merchant|batch|trace
	Amount       int64  `json:"amount"`             // fen
	MaskedPAN    string `json:"masked_pan"`
	ResponseCode string `json:"response_code"`
	Approved     bool   `json:"approved"`
	Reversed     bool   `json:"reversed"`
	Voided       bool   `json:"voided,omitempty"`   // sales: voided by an approved, unreversed void
	Refunded     int64  `json:"refunded,omitempty"` // sales: fen refunded so far
	Charged      int64  `json:"charged"`            // what it still takes from the cardholder (Entry.Charged)
	RRN          string `json:"rrn,omitempty"`
	AuthCode     string `json:"auth_code,omitempty"`
	Date         string `json:"date"`                // MMDD, field 13 of the answer
	At           string `json:"at"`                  // RFC 3339 with nanoseconds
	Lost         bool   `json:"lost,omitempty"`      // dropped from the host's books (DropEntry)
	Planted      bool   `json:"planted,omitempty"`   // booked without the terminal (AddEntry)
	Excluded     bool   `json:"excluded,omitempty"`  // left out of its settled batch: not in the terminal's upload
	ListedOn     string `json:"listed_on,omitempty"` // YYYYMMDD: the settlement file that lists it
}

func ledgerEntry(i int, e Entry) LedgerEntry {
	return LedgerEntry{Index: i, Type: string(e.Type), TerminalID: e.TerminalID, MerchantID: e.MerchantID,
		Trace: e.Trace, Batch: e.Batch, Original: e.Original, Amount: e.Amount, MaskedPAN: e.MaskedPAN, ResponseCode: e.ResponseCode,
		Approved: e.Approved, Reversed: e.Reversed, Voided: e.Voided, Refunded: e.Refunded, Charged: e.Charged(),
		RRN: e.RRN, AuthCode: e.AuthCode, Date: e.Date, At: e.At.Format(time.RFC3339Nano),
		Lost: e.Lost, Planted: e.Planted, Excluded: e.Excluded, ListedOn: e.ListedOn}
}

// ControlFaults is the body of POST /control/faults: each field set arms
// that fault (see DropNext, DelayNext, FailNextReversals, DropNextReversals).
type ControlFaults struct {
	DropNext      int    `json:"drop_next,omitempty"`
	DelayNext     string `json:"delay_next,omitempty"` // a Go duration, e.g. "3s"
	FailReversals int    `json:"fail_reversals,omitempty"`
	FailCode      string `json:"fail_code,omitempty"` // default 96
	DropReversals int    `json:"drop_reversals,omitempty"`
}

// ControlHandler serves the control API described in the package doc. It
// has no authentication: never expose it beyond the machine or a test
// network.
func (h *Host) ControlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /control/ledger", h.controlLedger)
	mux.HandleFunc("POST /control/faults", h.controlFaults)
	mux.HandleFunc("GET /control/faults", func(w http.ResponseWriter, r *http.Request) {
		controlJSON(w, http.StatusOK, h.armed())
	})
	mux.HandleFunc("POST /control/books/drop", h.controlDrop)
	mux.HandleFunc("POST /control/books/add", h.controlAdd)
	mux.HandleFunc("GET /control/batches", func(w http.ResponseWriter, r *http.Request) {
		controlJSON(w, http.StatusOK, h.Batches(r.URL.Query()["terminal"]...))
	})
	mux.HandleFunc("GET /control/calls", func(w http.ResponseWriter, r *http.Request) {
		controlJSON(w, http.StatusOK, map[string]int{"calls": h.Calls(), "reversals": h.Reversals()})
	})
	mux.HandleFunc("POST /control/file/line", h.controlFileLine)
	mux.HandleFunc("POST /control/clock", h.controlClock)
	mux.HandleFunc("GET /files/{name}", h.serveFile)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		controlJSON(w, http.StatusNotFound, map[string]string{"error": "no such control endpoint: " + r.Method + " " + r.URL.Path})
	})
	return mux
}

// controlLedger is GET /control/ledger[?terminal=T…][&since=N]: the
// entries of those terminals (all when none is named) from index N on.
func (h *Host) controlLedger(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	since := 0
	if s := q.Get("since"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			controlJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("since=%q is not an index", s)})
			return
		}
		since = n
	}
	terminals := q["terminal"]
	out := []LedgerEntry{}
	for i, e := range h.Ledger() {
		if i < since || len(terminals) > 0 && !slices.Contains(terminals, e.TerminalID) {
			continue
		}
		out = append(out, ledgerEntry(i, e))
	}
	controlJSON(w, http.StatusOK, out)
}

func (h *Host) controlFaults(w http.ResponseWriter, r *http.Request) {
	var f ControlFaults
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		controlJSON(w, http.StatusBadRequest, map[string]string{"error": "request body: " + err.Error()})
		return
	}
	var delay time.Duration
	if f.DelayNext != "" {
		d, err := time.ParseDuration(f.DelayNext)
		if err != nil || d < 0 {
			controlJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("delay_next %q: want a duration such as 3s", f.DelayNext)})
			return
		}
		delay = d
	}
	if f.DropNext < 0 || f.FailReversals < 0 || f.DropReversals < 0 {
		controlJSON(w, http.StatusBadRequest, map[string]string{"error": "counts cannot be negative"})
		return
	}
	if f.DropNext > 0 {
		h.DropNext(f.DropNext)
	}
	if delay > 0 {
		h.DelayNext(delay)
	}
	if f.FailReversals > 0 {
		code := f.FailCode
		if code == "" {
			code = "96"
		}
		h.FailNextReversals(f.FailReversals, code)
	}
	if f.DropReversals > 0 {
		h.DropNextReversals(f.DropReversals)
	}
	h.log.Info("control: faults armed", "drop_next", f.DropNext, "delay_next", delay,
		"fail_reversals", f.FailReversals, "drop_reversals", f.DropReversals)
	controlJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// armed is what faults are armed and not spent yet.
func (h *Host) armed() ControlFaults {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := ControlFaults{DropNext: h.drop, FailReversals: h.failRev, DropReversals: h.dropRev}
	if f.FailReversals > 0 {
		f.FailCode = h.failCode
	}
	if h.delay > 0 {
		f.DelayNext = h.delay.String()
	}
	return f
}

func controlJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ControlDrop is the body of POST /control/books/drop (see DropEntry).
type ControlDrop struct {
	TerminalID string `json:"terminal"`
	MerchantID string `json:"merchant"`
	Batch      string `json:"batch"`
	Trace      string `json:"trace"`
}

func (h *Host) controlDrop(w http.ResponseWriter, r *http.Request) {
	var d ControlDrop
	if !controlBody(w, r, &d) {
		return
	}
	if err := h.DropEntry(d.TerminalID, d.MerchantID, d.Batch, d.Trace); err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, ErrNoEntry) {
			status = http.StatusNotFound
		}
		controlJSON(w, status, map[string]string{"error": err.Error()})
		return
	}
	controlJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (h *Host) controlAdd(w http.ResponseWriter, r *http.Request) {
	var p Planted
	if !controlBody(w, r, &p) {
		return
	}
	e, err := h.AddEntry(p)
	if err != nil {
		controlJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	controlJSON(w, http.StatusOK, e)
}

// controlBody decodes a small JSON body with no unknown fields, or
// answers 400.
func controlBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		controlJSON(w, http.StatusBadRequest, map[string]string{"error": "request body: " + err.Error()})
		return false
	}
	return true
}

// controlFileLine is POST /control/file/line: a FileEdit.
func (h *Host) controlFileLine(w http.ResponseWriter, r *http.Request) {
	var e FileEdit
	if !controlBody(w, r, &e) {
		return
	}
	if err := h.EditFileLine(e); err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, ErrNoEntry) {
			status = http.StatusNotFound
		} else if errors.Is(err, ErrListed) {
			status = http.StatusConflict
		}
		controlJSON(w, status, map[string]string{"error": err.Error()})
		return
	}
	controlJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// serveFile is GET /files/settlement-YYYYMMDD.csv: the day's settlement
// file once the host has closed the day, 404 before.
func (h *Host) serveFile(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	day, ok := parseFileName(name)
	if !ok {
		controlJSON(w, http.StatusNotFound, map[string]string{"error": "no such file: " + name + " (settlement-YYYYMMDD.csv)"})
		return
	}
	data, ok := h.SettlementFileData(day)
	if !ok {
		controlJSON(w, http.StatusNotFound, map[string]string{"error": "the day " + day.Format("2006-01-02") + " is not closed yet"})
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	_, _ = w.Write(data)
}
