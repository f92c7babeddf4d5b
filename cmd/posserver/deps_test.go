package main

import (
	"os/exec"
	"strings"
	"testing"
)

// posserver links none of the cashier's side: no screens, no devices, no
// receipt rendering (config holds printer settings only; the station turns
// them into a receipts.Profile). Its load test does drive terminals through
// posclient, the station's client, which is why that one is allowed.
func TestServerLinksNoStation(t *testing.T) {
	t.Parallel()
	// go test puts its own GOROOT/bin first on the test's PATH.
	gotool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool: %v", err)
	}
	out, err := exec.Command(gotool, "list", "-deps", "github.com/multipos/multipos/cmd/posserver").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	const m = "github.com/multipos/multipos/"
	banned := []string{m + "tui", m + "devices", m + "receipts", m + "demo\n", "github.com/charmbracelet/"}
	deps := "\n" + string(out)
	for _, b := range banned {
		if i := strings.Index(deps, "\n"+b); i >= 0 {
			line, _, _ := strings.Cut(deps[i+1:], "\n")
			t.Errorf("posserver links %s", line)
		}
	}
}
