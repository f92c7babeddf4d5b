package posclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/posclient"
)

// TestSettleAnswers checks how the client reads the settlement call's
// answers over a real socket: the settlement, batch_moved (typed, naming
// the open batch) and settling (ErrSettling), the idempotency key sent and
// the trace counter following the new batch.
func TestSettleAnswers(t *testing.T) {
	var keys []string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		var req api.SettleBatch
		if r.Method == http.MethodPost {
			keys = append(keys, r.Header.Get(api.IdempotencyHeader))
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
				t.Errorf("body: %v", err)
			}
		}
		w.Header().Set(api.BatchHeader, "000008")
		w.Header().Set(api.NextTraceHeader, "000001")
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/v1/card/settlements/000006":
			json.NewEncoder(w).Encode(api.Settlement{Batch: "000006", NextBatch: "000007", By: api.SettledByCutoff})
		case r.Method == http.MethodGet:
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(api.Error{Code: api.CodeNotFound, Message: "no such settlement"})
		case req.Batch == "000007":
			json.NewEncoder(w).Encode(api.Settlement{Batch: "000007", NextBatch: "000008", Net: 1200, Balanced: true})
		case req.Batch == "000006":
			w.WriteHeader(http.StatusConflict)
			json.NewEncoder(w).Encode(api.Error{Code: api.CodeBatchMoved, Message: "batch 000006 is settled"})
		default:
			w.WriteHeader(http.StatusConflict)
			json.NewEncoder(w).Encode(api.Error{Code: api.CodeSettling, Message: "settling"})
		}
	}))
	defer hs.Close()
	c := posclient.NewClient(hs.URL, "T1", nil)
	tr, err := posclient.OpenTraces(filepath.Join(t.TempDir(), "trace"))
	if err != nil {
		t.Fatal(err)
	}
	c.SyncTraces(tr)
	ctx := context.Background()

	s, err := c.Settle(ctx, "req-1", api.SettleBatch{Batch: "000007", Operator: "01"})
	if err != nil || s.NextBatch != "000008" || s.Net != 1200 || !s.Balanced {
		t.Fatalf("settle: %+v, %v", s, err)
	}
	if tr.Batch() != "000008" {
		t.Errorf("trace counter in batch %q, want the new batch 000008", tr.Batch())
	}
	if len(keys) != 1 || keys[0] != "req-1" {
		t.Errorf("idempotency keys %q", keys)
	}

	_, err = c.Settle(ctx, "req-2", api.SettleBatch{Batch: "000006"})
	var moved *posclient.BatchMovedError
	if !errors.As(err, &moved) || moved.Batch != "000006" || moved.Open != "000008" {
		t.Fatalf("settle of a moved batch: %v", err)
	}
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Code != api.CodeBatchMoved {
		t.Errorf("batch_moved does not unwrap to the server's answer: %v", err)
	}
	done, err := c.Settlement(ctx, moved.Batch)
	if err != nil || done.By != api.SettledByCutoff {
		t.Fatalf("settlement: %+v, %v", done, err)
	}
	if _, err := c.Settlement(ctx, "000099"); !errors.As(err, &ae) || ae.Code != api.CodeNotFound {
		t.Errorf("unknown settlement: %v", err)
	}

	if _, err := c.Settle(ctx, "req-3", api.SettleBatch{Batch: "000008"}); !errors.Is(err, posclient.ErrSettling) {
		t.Fatalf("settle under way: %v", err)
	}
}
