package campaign

import (
	"io"
	"log/slog"
	"time"
)

// Engine is the journal's database engine.
type Engine string

const (
	EngineSQLite   Engine = "sqlite"   // one posserver on a SQLite file
	EnginePostgres Engine = "postgres" // two posserver instances on one PostgreSQL database
)

// Timing is posserver's timing for the campaign: short, so that every
// transaction of a run is final (or overdue) within seconds.
type Timing struct {
	QRTTL          time.Duration // qr_ttl: the shortest posserver.toml allows
	ChannelTimeout time.Duration // channel_timeout
	SweepInterval  time.Duration // sweep_interval
	ConfirmEvery   time.Duration // [confirm.*] every
	ConfirmTries   int           // [confirm.*] tries
}

func (t Timing) confirmWindow() time.Duration { return t.ConfirmEvery * time.Duration(t.ConfirmTries) }

// Config is a campaign.
type Config struct {
	Runs        int
	Seed        uint64
	Engine      Engine
	PostgresURL string // an administrative URL: the campaign creates its own database there, and drops it
	Posserver   string // the posserver binary
	Dir         string // the campaign's folder; "" = a new one under the temporary directory
	Keep        bool   // keep the folder even when every run passed

	Terminals  int           // per run
	Sales      int           // per terminal per run
	Parallel   int           // runs in flight at once (each with terminals of its own)
	MaxFaults  int           // per run, besides kills and wipes
	KillChance float64       // of a kill -9 per run
	WipeChance float64       // of a wiped state folder per run
	Window     time.Duration // faults fall within this much of a run's start

	NotifySchedule string // the wallets' notification retries, e.g. "300ms,1s,3s"
	Timing         Timing

	Out     io.Writer    // progress, the report and the last line
	Logger  *slog.Logger // the campaign's own log (processes log to files)
	Verbose bool         // print every sale of every run with what happened to it
}

// DefaultConfig is the default campaign: about five minutes on a 2-core
// machine on SQLite.
func DefaultConfig() Config {
	return Config{
		Runs: 80, Engine: EngineSQLite, Posserver: "bin/posserver",
		Terminals: 4, Sales: 3, Parallel: 3, MaxFaults: 3, KillChance: 0.3, WipeChance: 0.15,
		Window: 3 * time.Second, NotifySchedule: "300ms,1s,3s,8s",
		Timing: Timing{QRTTL: 30 * time.Second, ChannelTimeout: 2 * time.Second, SweepInterval: 200 * time.Millisecond,
			ConfirmEvery: 300 * time.Millisecond, ConfirmTries: 5},
		Logger: slog.New(slog.DiscardHandler),
	}
}

func (c Config) poolSize() int { return c.Terminals * max(c.Parallel, 1) }

func (c Config) instances() int {
	if c.Engine == EnginePostgres {
		return 2
	}
	return 1
}

func (c Config) sizes() Sizes {
	return Sizes{Terminals: c.Terminals, Sales: c.Sales, Window: c.Window, MaxFaults: c.MaxFaults,
		KillChance: c.KillChance, WipeChance: c.WipeChance, Instances: c.instances(),
		ChannelTimeout: c.Timing.ChannelTimeout, ConfirmWindow: c.Timing.confirmWindow()}
}
