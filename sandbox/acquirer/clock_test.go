package acquirer

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Advancing the clock past midnight (POST /control/clock) runs the day
// cut at once: the day's file lists what the terminal left open, is
// served and written to SettlementDir, without waiting for a request.
func TestAdvanceCutsTheDay(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 12, 7, 15, 0, 0, 0, CST)
	h := New(Options{Now: func() time.Time { return start }, SettlementDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if _, ok := h.SettlementFileData(start); ok {
		t.Fatal("the day is closed before it ends")
	}
	if _, err := h.AddEntry(Planted{TerminalID: "T1", MerchantID: "M1", Batch: "000001", Trace: "000042", Type: Sale, Amount: 100}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.ControlHandler())
	defer srv.Close()
	var got map[string]string
	if code := controlDo(t, srv, http.MethodPost, "/control/clock", `{"advance":"bad"}`, &got); code != http.StatusBadRequest {
		t.Fatalf("bad advance: %d %v", code, got)
	}
	if code := controlDo(t, srv, http.MethodPost, "/control/clock", `{"advance":"19h30m"}`, &got); code != http.StatusOK ||
		got["now"] != "2026-12-08T10:30:00+08:00" {
		t.Fatalf("advance: %d %v", code, got)
	}
	if !h.Now().Equal(start.Add(19*time.Hour + 30*time.Minute)) {
		t.Fatalf("now %s", h.Now())
	}
	data, ok := h.SettlementFileData(start)
	if !ok || !strings.Contains(string(data), ",000042,") || !strings.Contains(string(data), StatusHostCut) {
		t.Fatalf("file after the advance (%v):\n%s", ok, data)
	}
	h.Close() // waits for the file to be written
	disk, err := os.ReadFile(filepath.Join(dir, SettlementFile(start)))
	if err != nil || string(disk) != string(data) {
		t.Fatalf("file on disk: %v\n%s", err, disk)
	}
}
