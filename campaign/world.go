package campaign

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/multipos/multipos/server/store"
)

// World is what a campaign runs against, each a process of its own: the
// sandboxes (`posserver sandbox`: Alipay, WeChat Pay, the acquirer host),
// one posserver on SQLite or two on one PostgreSQL database, and the
// notify front between them; and in the campaign's process, the pool of
// simulated terminals and a read-only view of the journal.
type World struct {
	cfg Config
	log *slog.Logger
	dir string // the campaign's folder (0700): keys, bundles, logs, database, terminals' state

	sandbox *proc
	servers []*instance
	front   *notifyFront
	ctl     *controls
	journal *store.Store
	db      *database
	pool    *pool
	outages outages
	hc      *http.Client
}

// instance is one posserver process.
type instance struct {
	n                 int
	proc              *proc
	api, ops, notify  string // addresses
	config            string // its posserver.toml
	mu                sync.Mutex
	down              bool
	kills, restartErr int
}

// dirs the campaign keeps in its folder.
const (
	dirKeys      = "keys"
	dirBundles   = "bundles"
	dirLogs      = "logs"
	dirTerminals = "terminals"
	dirPKI       = "pki"
)

// merchant of every campaign terminal.
const (
	campaignMerchant = "898310000000077"
	campaignStore    = "S01"
)

// StartWorld starts the processes and the terminals. Close stops them.
func StartWorld(ctx context.Context, cfg Config) (w *World, err error) {
	w = &World{cfg: cfg, log: cfg.Logger, hc: &http.Client{Timeout: 5 * time.Second}}
	defer func() {
		if err != nil {
			w.Close()
		}
	}()
	if err := w.makeDirs(); err != nil {
		return w, err
	}
	n := 1
	if cfg.Engine == EnginePostgres {
		n = 2
	}
	addrs, err := freeAddrs(5 + 3*n)
	if err != nil {
		return w, err
	}
	if w.front, err = startNotifyFront(addrs[4], w.log); err != nil {
		return w, err
	}
	sections, err := w.startSandbox(ctx, addrs[:4])
	if err != nil {
		return w, err
	}
	if w.db, err = openDatabase(ctx, cfg, w.dir); err != nil {
		return w, err
	}
	for i := range n {
		a := addrs[5+3*i:]
		w.servers = append(w.servers, &instance{n: i, api: a[0], ops: a[1], notify: a[2]})
	}
	if err := w.writeConfigs(sections); err != nil {
		return w, err
	}
	if err := w.provision(ctx); err != nil {
		return w, err
	}
	if err := w.startServers(ctx); err != nil {
		return w, err
	}
	if w.journal, err = store.OpenReadOnly(ctx, w.db.dsn); err != nil {
		return w, err
	}
	return w, w.startTerminals(ctx)
}

func (w *World) makeDirs() error {
	w.dir = w.cfg.Dir
	if w.dir == "" {
		d, err := os.MkdirTemp("", "multipos-campaign-")
		if err != nil {
			return fmt.Errorf("campaign folder: %w", err)
		}
		w.dir = d
	}
	for _, d := range []string{"", dirKeys, dirBundles, dirLogs, dirTerminals} {
		if err := os.MkdirAll(filepath.Join(w.dir, d), 0o700); err != nil {
			return fmt.Errorf("campaign folder: %w", err)
		}
		if err := os.Chmod(filepath.Join(w.dir, d), 0o700); err != nil {
			return fmt.Errorf("campaign folder: %w", err)
		}
	}
	return nil
}

// Dir is the campaign's folder.
func (w *World) Dir() string { return w.dir }

// startSandbox runs `posserver sandbox` on addrs (Alipay, WeChat Pay, the
// acquirer, its control API) and returns the posserver.toml sections it
// wrote.
func (w *World) startSandbox(ctx context.Context, addrs []string) (string, error) {
	keys := filepath.Join(w.dir, dirKeys)
	w.sandbox = &proc{name: "sandbox", bin: w.cfg.Posserver, log: filepath.Join(w.dir, dirLogs, "sandbox.log"),
		args: []string{"sandbox", "-alipay", addrs[0], "-wechat", addrs[1], "-bank", addrs[2], "-bank-control", addrs[3],
			"-bundles", filepath.Join(w.dir, dirBundles), "-notify", w.front.Addr(), "-dir", keys,
			"-notify-schedule", w.cfg.NotifySchedule, "-card-balance", "10000000"}}
	if err := w.sandbox.start(ctx); err != nil {
		return "", err
	}
	w.ctl = newControls("http://"+addrs[0], "http://"+addrs[1], "http://"+addrs[3])
	file := filepath.Join(keys, "posserver-wallets.toml")
	var sections []byte
	err := w.sandbox.waitReady(ctx, 30*time.Second, func(ctx context.Context) bool {
		if w.ctl.ready(ctx) != nil {
			return false
		}
		b, err := os.ReadFile(file)
		sections = b
		return err == nil && strings.Contains(string(b), "[bank]")
	})
	if err != nil {
		return "", err
	}
	// Only the tables: the file's top-level notify_listen is each
	// instance's own.
	s := string(sections)
	if i := strings.Index(s, "\n["); i >= 0 {
		s = s[i+1:]
	}
	return s, nil
}

// writeConfigs writes each instance's posserver.toml: its addresses, the
// shared database and authority, the campaign's short timing, no daily
// limits (a campaign sells more than a shop), and the sandboxes' sections.
func (w *World) writeConfigs(sections string) error {
	t := w.cfg.Timing
	for _, s := range w.servers {
		var b strings.Builder
		fmt.Fprintf(&b, "# written by the fault campaign\nlisten = %q\nops_listen = %q\nnotify_listen = %q\n", s.api, s.ops, s.notify)
		fmt.Fprintf(&b, "db = %q\npki_dir = %q\nhosts = [\"127.0.0.1\"]\npublic_url = %q\n",
			w.db.dsn, filepath.Join(w.dir, dirPKI), "https://"+w.servers[0].api)
		fmt.Fprintf(&b, "qr_ttl = %q\nchannel_timeout = %q\nsweep_interval = %q\n\n", t.QRTTL, t.ChannelTimeout, t.SweepInterval)
		for _, ch := range []string{"alipay", "wechat", "card"} {
			fmt.Fprintf(&b, "[limits.%s]\ndaily = \"0\"\n\n", ch)
		}
		for _, ch := range []string{"alipay", "wechat"} {
			fmt.Fprintf(&b, "[confirm.%s]\nevery = %q\ntries = %d\n\n", ch, t.ConfirmEvery, t.ConfirmTries)
		}
		b.WriteString(sections)
		s.config = filepath.Join(w.dir, fmt.Sprintf("posserver-%d.toml", s.n))
		if err := os.WriteFile(s.config, []byte(b.String()), 0o600); err != nil {
			return fmt.Errorf("posserver.toml: %w", err)
		}
	}
	return nil
}

// provision registers the pool's terminals with `posserver terminal add`,
// their bundles going where the acquirer learns their master keys.
func (w *World) provision(ctx context.Context) error {
	add := func(i int) error {
		id := terminalID(i)
		p := &proc{name: "terminal add " + id, bin: w.cfg.Posserver, log: filepath.Join(w.dir, dirLogs, "provision.log"),
			args: []string{"terminal", "add", "-config", w.servers[0].config, "-merchant", campaignMerchant,
				"-merchant-name", "多通道故障演练 Campaign", "-store", campaignStore, "-id", id,
				"-out", filepath.Join(w.dir, dirBundles, id+".pem")}}
		if err := p.start(ctx); err != nil {
			return err
		}
		<-p.done
		if p.cmd.ProcessState.ExitCode() != 0 {
			return fmt.Errorf("posserver terminal add %s failed; see %s", id, p.log)
		}
		return nil
	}
	// The first creates the authority; the others may then run side by side.
	if err := add(0); err != nil {
		return err
	}
	errs := make(chan error, w.cfg.poolSize())
	sem := make(chan struct{}, 4)
	for i := 1; i < w.cfg.poolSize(); i++ {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			errs <- add(i)
		}()
	}
	for i := 1; i < w.cfg.poolSize(); i++ {
		if err := <-errs; err != nil {
			return err
		}
	}
	return nil
}

func terminalID(i int) string { return fmt.Sprintf("CT%06d", i+1) }

func (w *World) startServers(ctx context.Context) error {
	for _, s := range w.servers {
		s.proc = &proc{name: fmt.Sprintf("posserver #%d", s.n), bin: w.cfg.Posserver,
			log:  filepath.Join(w.dir, dirLogs, fmt.Sprintf("posserver-%d.log", s.n)),
			args: []string{"serve", "-config", s.config}}
		if err := w.startServer(ctx, s); err != nil {
			return err
		}
	}
	var notify []string
	for _, s := range w.servers {
		notify = append(notify, "http://"+s.notify)
	}
	w.front.setBackends(notify)
	return nil
}

func (w *World) startServer(ctx context.Context, s *instance) error {
	if err := s.proc.start(ctx); err != nil {
		return err
	}
	return s.proc.waitReady(ctx, 60*time.Second, func(ctx context.Context) bool {
		return httpOK(ctx, w.hc, "http://"+s.ops+"/readyz")
	})
}

// killAndRestart is kill -9 of an instance, and its restart after down.
// It does nothing (false) when the instance is down already.
func (w *World) killAndRestart(ctx context.Context, i int, down time.Duration) (bool, error) {
	s := w.servers[i]
	s.mu.Lock()
	if s.down {
		s.mu.Unlock()
		return false, nil
	}
	s.down = true
	s.kills++
	s.mu.Unlock()
	began := time.Now()
	if err := s.proc.kill(); err != nil {
		return true, err
	}
	w.log.Info("posserver killed", "instance", s.n, "down", down)
	sleep(ctx, down)
	// Restarted even when the campaign is stopping: it stops it in order.
	var err error
	for try := 0; try < 5; try++ {
		if err = w.startServer(context.WithoutCancel(ctx), s); err == nil {
			break
		}
		w.log.Warn("posserver did not restart; trying again", "instance", s.n, "err", err)
		time.Sleep(time.Second)
	}
	w.outages.add(began, time.Now())
	s.mu.Lock()
	s.down = false
	if err != nil {
		s.restartErr++
	}
	s.mu.Unlock()
	return true, err
}

// startTerminals makes the pool's terminals, signed on.
func (w *World) startTerminals(ctx context.Context) error {
	var urls []string
	for _, s := range w.servers {
		urls = append(urls, "https://"+s.api)
	}
	tm := timing{QRTTL: w.cfg.Timing.QRTTL, ChannelTimeout: w.cfg.Timing.ChannelTimeout, ConfirmWindow: w.cfg.Timing.confirmWindow()}
	w.pool = newPool()
	for i := range w.cfg.poolSize() {
		id := terminalID(i)
		t, err := newTerminal(ctx, filepath.Join(w.dir, dirBundles, id+".pem"), filepath.Join(w.dir, dirTerminals), urls, w.ctl, tm)
		if err != nil {
			return err
		}
		// Spread over the instances: each has its own terminals until one dies.
		t.cur.Store(int32(i % len(urls)))
		w.pool.add(t)
	}
	return nil
}

// Close stops everything the world started and drops its database.
func (w *World) Close() {
	for _, s := range w.servers {
		if s.proc != nil {
			s.proc.stop()
		}
	}
	if w.sandbox != nil {
		w.sandbox.stop()
	}
	if w.front != nil {
		w.front.Close()
	}
	if w.journal != nil {
		w.journal.Close()
	}
	if w.db != nil {
		w.db.drop()
	}
}

// outages are the times posserver instances were down, for deadlines: a
// transaction cannot be resolved while the server is away.
type outages struct {
	mu   sync.Mutex
	list [][2]time.Time
}

func (o *outages) add(from, to time.Time) {
	o.mu.Lock()
	o.list = append(o.list, [2]time.Time{from, to})
	o.mu.Unlock()
}

// overlap is how much of [from, to] some instance was down.
func (o *outages) overlap(from, to time.Time) time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	var d time.Duration
	for _, x := range o.list {
		a, b := maxTime(from, x[0]), minTime(to, x[1])
		if b.After(a) {
			d += b.Sub(a)
		}
	}
	return d
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// pool hands out terminals to runs, each to one run at a time, so that a
// run's checks see only its own traffic on them.
type pool struct {
	mu   sync.Mutex
	free []*terminal
	all  []*terminal
	wake chan struct{}
}

func newPool() *pool { return &pool{wake: make(chan struct{}, 1)} }

func (p *pool) add(t *terminal) {
	p.mu.Lock()
	p.free = append(p.free, t)
	p.all = append(p.all, t)
	p.mu.Unlock()
}

// take waits for n free terminals.
func (p *pool) take(ctx context.Context, n int) ([]*terminal, error) {
	for {
		p.mu.Lock()
		if len(p.free) >= n {
			out := append([]*terminal(nil), p.free[:n]...)
			p.free = p.free[n:]
			p.mu.Unlock()
			return out, nil
		}
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-p.wake:
		}
	}
}

func (p *pool) put(ts []*terminal) {
	p.mu.Lock()
	p.free = append(p.free, ts...)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}
