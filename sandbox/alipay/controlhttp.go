package alipay

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/multipos/multipos/server/connector"
)

// controlRoutes serves the control API (see doc.go): JSON in, JSON out.
func (s *Sandbox) controlRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /control/trades", func(w http.ResponseWriter, r *http.Request) {
		writeJSON200(w, s.Trades())
	})
	m.HandleFunc("GET /control/trades/{out_trade_no}", func(w http.ResponseWriter, r *http.Request) {
		t, ok := s.Trade(r.PathValue("out_trade_no"))
		if !ok {
			controlError(w, http.StatusNotFound, fmt.Errorf("no order %s", r.PathValue("out_trade_no")))
			return
		}
		writeJSON200(w, t)
	})
	m.HandleFunc("POST /control/trades/{out_trade_no}/{action}", s.controlTrade)
	m.HandleFunc("POST /control/barcode", s.controlBarcode)
	m.HandleFunc("POST /control/faults", s.controlFaults)
	m.HandleFunc("GET /control/notifications", func(w http.ResponseWriter, r *http.Request) {
		writeJSON200(w, s.Deliveries())
	})
	m.HandleFunc("POST /control/notifications/{action}", s.controlNotifications)
	m.HandleFunc("GET /control/calls", func(w http.ResponseWriter, r *http.Request) {
		writeJSON200(w, s.Calls())
	})
	m.HandleFunc("POST /control/clock", s.controlClock)
	s.billControlRoutes(m)
}

func (s *Sandbox) controlTrade(w http.ResponseWriter, r *http.Request) {
	no := r.PathValue("out_trade_no")
	var err error
	switch r.PathValue("action") {
	case "scan":
		err = s.Scan(r.Context(), no)
	case "pay":
		err = s.Pay(r.Context(), no)
	case "confirm":
		err = s.Confirm(r.Context(), no)
	case "decline":
		err = s.Decline(r.Context(), no)
	default:
		controlError(w, http.StatusNotFound, fmt.Errorf("unknown action %q: want scan, pay, confirm or decline", r.PathValue("action")))
		return
	}
	switch {
	case errors.Is(err, connector.ErrNotFound):
		controlError(w, http.StatusNotFound, err)
	case err != nil:
		controlError(w, http.StatusConflict, err)
	default:
		t, _ := s.Trade(no)
		writeJSON200(w, t)
	}
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		controlError(w, http.StatusBadRequest, fmt.Errorf("request body: %w", err))
		return false
	}
	return true
}

func writeJSON200(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func controlError(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}

// controlBarcode is POST /control/barcode: how the next payment code (or
// one given code) is answered.
func (s *Sandbox) controlBarcode(w http.ResponseWriter, r *http.Request) {
	var req struct {
		PayOutcome
		AuthCode string `json:"auth_code"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	var err error
	if req.AuthCode != "" {
		err = s.SetAuthCode(req.AuthCode, req.PayOutcome)
	} else {
		err = s.NextPay(req.PayOutcome)
	}
	if err != nil {
		controlError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON200(w, map[string]any{"ok": true})
}

// controlFaults is POST /control/faults: a fault for a method's next call.
func (s *Sandbox) controlFaults(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Method  string `json:"method"`
		DelayMS int64  `json:"delay_ms"`
		Answer  Answer `json:"answer"`
		Applied bool   `json:"applied"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	f := Fault{Method: req.Method, Delay: time.Duration(req.DelayMS) * time.Millisecond, Answer: req.Answer, Applied: req.Applied}
	if err := s.Inject(f); err != nil {
		controlError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON200(w, map[string]any{"ok": true})
}

// controlNotifications is POST /control/notifications/{action}: what
// happens to the next notifications.
func (s *Sandbox) controlNotifications(w http.ResponseWriter, r *http.Request) {
	switch r.PathValue("action") {
	case "duplicate":
		s.DuplicateNextNotification()
	case "bad-sign":
		s.BadSignNextNotification()
	case "hold":
		s.HoldNotifications()
	case "release":
		n := s.ReleaseNotifications(r.URL.Query().Get("order") == "reverse")
		writeJSON200(w, map[string]any{"released": n})
		return
	default:
		controlError(w, http.StatusNotFound, fmt.Errorf("unknown action %q: want duplicate, bad-sign, hold or release", r.PathValue("action")))
		return
	}
	writeJSON200(w, map[string]any{"ok": true})
}

// controlClock is POST /control/clock: the sandbox's clock moves on.
func (s *Sandbox) controlClock(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Advance string `json:"advance"` // a Go duration: "90m", "25h"
	}
	if !readJSON(w, r, &req) {
		return
	}
	d, err := time.ParseDuration(req.Advance)
	if err != nil || d < 0 {
		controlError(w, http.StatusBadRequest, fmt.Errorf("advance %q: want a positive duration such as 90m", req.Advance))
		return
	}
	s.Advance(d)
	writeJSON200(w, map[string]any{"now": fmtTime(s.Now())})
}
