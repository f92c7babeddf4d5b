package main

import (
	"io"
	"testing"

	"github.com/multipos/multipos/campaign"
)

func TestFlags(t *testing.T) {
	cfg, _, err := parse([]string{"-seed", "77"}, io.Discard)
	if err != nil || cfg.Seed != 77 || cfg.Runs != 1 {
		t.Fatalf("a seed alone replays its run: %+v %v", cfg, err)
	}
	cfg, _, err = parse([]string{"-seed", "77", "-runs", "5", "-engine", "postgres"}, io.Discard)
	if err != nil || cfg.Runs != 5 || cfg.Engine != campaign.EnginePostgres {
		t.Fatalf("%+v %v", cfg, err)
	}
	a, _, _ := parse(nil, io.Discard)
	b, _, _ := parse(nil, io.Discard)
	if a.Seed == b.Seed || a.Runs != campaign.DefaultConfig().Runs {
		t.Fatalf("without a seed, each campaign draws its own: %d %d", a.Seed, b.Seed)
	}
	for _, args := range [][]string{{"-engine", "mysql"}, {"-runs", "0"}, {"extra"}, {"-terminals", "0"}} {
		if _, _, err := parse(args, io.Discard); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
