package server

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/multipos/multipos/api"
)

// maxBody bounds request bodies; the largest real one is a card sale.
const maxBody = 64 << 10

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, tid string, err error) {
	var apiErr *api.Error
	if !errors.As(err, &apiErr) {
		s.log.Error("request failed", "terminal", tid, "method", r.Method, "path", r.URL.Path, "err", err)
		apiErr = &api.Error{Status: http.StatusInternalServerError, Code: api.CodeInternal, Message: "internal error"}
	}
	status := apiErr.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if status >= 400 && status < 500 {
		s.refused(r, tid, status, apiErr.Code)
	}
	writeJSON(w, status, apiErr)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	if body == nil {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(body); err != nil {
		slog.Debug("response not written", "err", err) // the client went away
	}
}

// decode reads a JSON body into v.
func decode(r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(nil, r.Body, maxBody)
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		return badRequest("malformed JSON body: %v", err)
	}
	return nil
}

func badRequest(format string, args ...any) *api.Error {
	return &api.Error{Status: http.StatusBadRequest, Code: api.CodeBadRequest, Message: fmt.Sprintf(format, args...)}
}

func notFound(what string) *api.Error {
	return &api.Error{Status: http.StatusNotFound, Code: api.CodeNotFound, Message: what + " not found"}
}

func channelError(format string, args ...any) *api.Error {
	return &api.Error{Status: http.StatusBadGateway, Code: api.CodeChannelError, Message: fmt.Sprintf(format, args...)}
}

// requestHash fingerprints the parameters of a mutating request, so that a
// replay of the same trace can be told from a different request reusing it.
func requestHash(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:])
}

// validTrace reports whether t is a 6-digit trace number.
func validTrace(t string) bool {
	if len(t) != 6 {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] < '0' || t[i] > '9' {
			return false
		}
	}
	return true
}
