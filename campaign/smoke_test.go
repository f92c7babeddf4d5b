package campaign

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// Two short runs end to end: the sandboxes and posserver as processes of
// their own, terminals provisioned with `posserver terminal add`, a kill
// -9 and its restart, the checks, the report and its last line.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds posserver and runs it: not in -short")
	}
	goBin, err := exec.LookPath("go") // go test puts its own go first on PATH
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "posserver")
	if out, err := exec.Command(goBin, "build", "-o", bin, "github.com/multipos/multipos/cmd/posserver").CombinedOutput(); err != nil {
		t.Fatalf("building posserver: %v\n%s", err, out)
	}
	cfg := DefaultConfig()
	var out bytes.Buffer
	cfg.Runs, cfg.Seed, cfg.Terminals, cfg.Sales, cfg.Parallel = 2, 20261207, 2, 2, 1
	cfg.KillChance, cfg.Posserver, cfg.Dir, cfg.Out = 1, bin, filepath.Join(dir, "campaign"), &out
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Logf("\n%s", out.String())
	if res.Runs != 2 || res.Sales != 8 || res.Kills == 0 {
		t.Fatalf("%d runs, %d sales, %d kills", res.Runs, res.Sales, res.Kills)
	}
	last := regexp.MustCompile(`(?m)^campaign: 2 runs, 8 sales, \d+ kills, \d+ faults: \d+ lost, \d+ double-charged, \d+ disagreements, \d+ stuck\n\z`)
	if !last.Match(out.Bytes()) {
		t.Fatalf("the last line is not the campaign's:\n%s", out.String())
	}
	if !regexp.MustCompile(`(?m)^run 1/2 seed 20261207: 4 sales`).Match(out.Bytes()) {
		t.Fatalf("no progress line for run 1:\n%s", out.String())
	}
}
