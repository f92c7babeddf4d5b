// Command poscampaign runs the fault campaign (package campaign): posserver
// as its own process against the wallet and bank sandboxes as their own,
// simulated terminals selling through it while faults strike, and a check
// of every invariant against the journal and each channel's own books.
//
//	poscampaign [-runs N] [-seed S] [-engine sqlite|postgres -pg URL] [sizes…]
//
// `make campaign` builds and runs it; `make campaign SEED=S` replays the
// run whose seed is S. The last line is
//
//	campaign: R runs, S sales, K kills, F faults: 0 lost, 0 double-charged, 0 disagreements, 0 stuck
//
// and the exit status is 1 when any count is not 0, 2 when the campaign
// could not run.
package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/multipos/multipos/campaign"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, keep, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "poscampaign:", err)
		return 2
	}
	made := cfg.Dir == ""
	if made {
		if cfg.Dir, err = os.MkdirTemp("", "multipos-campaign-"); err != nil {
			fmt.Fprintln(stderr, "poscampaign:", err)
			return 2
		}
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "logs"), 0o700); err != nil {
		fmt.Fprintln(stderr, "poscampaign:", err)
		return 2
	}
	logf, err := os.OpenFile(filepath.Join(cfg.Dir, "logs", "campaign.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		fmt.Fprintln(stderr, "poscampaign:", err)
		return 2
	}
	defer logf.Close()
	cfg.Logger = slog.New(slog.NewJSONHandler(logf, nil))
	cfg.Out = stdout
	res, err := campaign.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "poscampaign: %v (logs in %s)\n", err, cfg.Dir)
		return 2
	}
	switch {
	case res.Interrupted:
		return 2
	case !res.OK():
		return 1
	}
	if made && !keep {
		_ = os.RemoveAll(cfg.Dir)
	}
	return 0
}

func parse(args []string, stderr io.Writer) (campaign.Config, bool, error) {
	cfg := campaign.DefaultConfig()
	fl := flag.NewFlagSet("poscampaign", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.IntVar(&cfg.Runs, "runs", cfg.Runs, "runs (default 1 with -seed: the replay of that run)")
	seed := fl.Uint64("seed", 0, "the campaign's seed, which is also its first run's (default: random)")
	engine := fl.String("engine", string(cfg.Engine), "sqlite (one posserver) or postgres (two posserver instances on one database)")
	fl.StringVar(&cfg.PostgresURL, "pg", os.Getenv("MULTIPOS_PG"), "PostgreSQL URL for -engine postgres; the campaign creates and drops a database of its own there")
	fl.StringVar(&cfg.Posserver, "posserver", cfg.Posserver, "the posserver binary")
	fl.StringVar(&cfg.Dir, "dir", "", "the campaign's folder (default: a new one under $TMPDIR, removed when every run passed)")
	keep := fl.Bool("keep", false, "keep the campaign's folder even when every run passed")
	fl.IntVar(&cfg.Terminals, "terminals", cfg.Terminals, "terminals per run")
	fl.IntVar(&cfg.Sales, "sales", cfg.Sales, "sales per terminal per run")
	fl.IntVar(&cfg.Parallel, "parallel", cfg.Parallel, "runs in flight at once, each on terminals of its own")
	fl.IntVar(&cfg.MaxFaults, "max-faults", cfg.MaxFaults, "faults per run besides kills and wipes: 0 to this many")
	fl.Float64Var(&cfg.KillChance, "kill-chance", cfg.KillChance, "chance of a kill -9 of posserver in a run")
	fl.Float64Var(&cfg.WipeChance, "wipe-chance", cfg.WipeChance, "chance of a terminal's state folder wiped in a run")
	fl.DurationVar(&cfg.Window, "window", cfg.Window, "faults strike within this much of a run's start")
	fl.StringVar(&cfg.NotifySchedule, "notify-schedule", cfg.NotifySchedule, "the wallets' notification retries")
	fl.DurationVar(&cfg.Timing.QRTTL, "qr-ttl", cfg.Timing.QRTTL, "posserver qr_ttl")
	fl.DurationVar(&cfg.Timing.ChannelTimeout, "channel-timeout", cfg.Timing.ChannelTimeout, "posserver channel_timeout")
	fl.DurationVar(&cfg.Timing.SweepInterval, "sweep-interval", cfg.Timing.SweepInterval, "posserver sweep_interval")
	fl.DurationVar(&cfg.Timing.ConfirmEvery, "confirm-every", cfg.Timing.ConfirmEvery, "posserver [confirm.*] every")
	fl.IntVar(&cfg.Timing.ConfirmTries, "confirm-tries", cfg.Timing.ConfirmTries, "posserver [confirm.*] tries")
	fl.BoolVar(&cfg.Verbose, "v", false, "print every sale of every run with what happened to it")
	if err := fl.Parse(args); err != nil {
		return cfg, false, err
	}
	if fl.NArg() > 0 {
		return cfg, false, fmt.Errorf("unexpected arguments %q", fl.Args())
	}
	set := map[string]bool{}
	fl.Visit(func(f *flag.Flag) { set[f.Name] = true })
	cfg.Seed = *seed
	if !set["seed"] {
		var b [8]byte
		_, _ = rand.Read(b[:])
		cfg.Seed = binary.LittleEndian.Uint64(b[:]) >> 1 // fits a signed 64-bit integer too
	} else if !set["runs"] {
		cfg.Runs = 1
	}
	cfg.Engine = campaign.Engine(*engine)
	switch {
	case cfg.Engine != campaign.EngineSQLite && cfg.Engine != campaign.EnginePostgres:
		return cfg, false, fmt.Errorf("-engine %q: sqlite or postgres", *engine)
	case cfg.Runs < 1 || cfg.Terminals < 1 || cfg.Sales < 1 || cfg.Parallel < 1:
		return cfg, false, errors.New("-runs, -terminals, -sales and -parallel must be at least 1")
	}
	return cfg, *keep, nil
}
