package main

import (
	"os/exec"
	"strings"
	"testing"
)

// goList returns what `go list -deps` (or, with direct, `go list -f
// {{.Imports}}`) says pkg links: non-test code only, as the binary has it.
func goList(t *testing.T, pkg string, direct bool) []string {
	t.Helper()
	// go test puts its own GOROOT/bin first on the test's PATH.
	gotool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool: %v", err)
	}
	args := []string{"list", "-deps", pkg}
	if direct {
		args = []string{"list", "-f", `{{join .Imports "\n"}}`, pkg}
	}
	out, err := exec.Command(gotool, args...).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	return strings.Fields(string(out))
}

const module = "github.com/multipos/multipos/"

// The layers of the cashier's side: what each package must not link, and
// why. A new import that breaks one of these is a design change to make on
// purpose, not by accident.
func TestStationLayers(t *testing.T) {
	t.Parallel()
	rules := []struct {
		pkg    string
		direct bool     // only the package's own imports
		banned []string // import path prefixes
		why    string
	}{
		{"github.com/multipos/multipos/cmd/pos", false,
			[]string{"github.com/jackc/", "github.com/prometheus/"},
			"the cashier app's demo server runs on SQLite without metrics (server/store/postgres and server/metrics are posserver's)"},
		{module + "posclient", false,
			[]string{"github.com/moov-io/", module + "server/", module + "tui", module + "demo"},
			"the station's client of posserver shares only neutral packages (api, bundle, cardkeys, cards) with the server"},
		{module + "tui", true,
			[]string{module + "server/", module + "sandbox/", module + "demo"},
			"the screens reach posserver through posclient only, and know nothing of demo wiring"},
		{module + "tui", false,
			[]string{module + "server/", "github.com/moov-io/", "github.com/jackc/", "github.com/prometheus/"},
			"nothing the screens link may pull the server in"},
	}
	for _, r := range rules {
		deps := goList(t, r.pkg, r.direct)
		for _, b := range r.banned {
			for _, dep := range deps {
				if strings.HasPrefix(dep, b) {
					t.Errorf("%s links %s: %s", r.pkg, dep, r.why)
					break // one is enough to say which rule broke
				}
			}
		}
	}
}
