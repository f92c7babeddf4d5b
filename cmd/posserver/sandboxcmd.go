package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/multipos/multipos/cmd/internal/cmdline"
	"github.com/multipos/multipos/demo/standins"
	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/sandbox/acquirer"
)

// sandboxOpts are the flags of `posserver sandbox`.
type sandboxOpts struct {
	alipay, wechat, dir        string
	bank, bankControl, bundles string
	notify, schedule           string
	cardBalance                money.Fen
}

func sandboxCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run the Alipay and WeChat Pay sandboxes (and the acquirer host) on their own",
		Long: `sandbox runs the Alipay and WeChat Pay sandboxes on their own, and with --bank
the stand-in acquirer host too, for a posserver (or any client of the official
SDKs) to be pointed at. It writes the merchant keys and the posserver.toml
sections that do so into --dir, and runs until SIGINT or SIGTERM.`,
		Example: "  posserver sandbox --dir sandbox-keys --bank 127.0.0.1:9703 --bundles bundles/",
		Args:    cmdline.Args(cobra.NoArgs),
	}
	var o sandboxOpts
	fl := cmd.Flags()
	fl.StringVar(&o.alipay, "alipay", "127.0.0.1:9701", "the Alipay sandbox's address (gateway at /gateway.do)")
	fl.StringVar(&o.wechat, "wechat", "127.0.0.1:9702", "the WeChat Pay sandbox's address (API at /v3/…)")
	fl.StringVar(&o.dir, "dir", "sandbox-keys", "where to write the merchant keys and posserver-wallets.toml")
	fl.StringVar(&o.bank, "bank", "", "also run the stand-in acquirer host (ISO 8583 over TCP) at this address")
	fl.StringVar(&o.bankControl, "bank-control", "", "the acquirer's control API (HTTP: /control/ledger, /control/faults) at this address")
	fl.StringVar(&o.bundles, "bundles", "", "the directory of the terminals' bundles, where the acquirer learns their master keys (required with --bank)")
	fl.StringVar(&o.notify, "notify", "", "posserver's notify listener as the wallets reach it, host:port (default 127.0.0.1:8480)")
	fl.StringVar(&o.schedule, "notify-schedule", "", "the wallets' notification retry schedule, e.g. 200ms,1s,5s (default: each wallet's real one)")
	fl.TextVar(&o.cardBalance, "card-balance", money.Fen(0), "what every approving test card starts with, in yuan (default: its own, 10,000.00)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		switch {
		case o.bank != "" && o.bundles == "":
			return cmdline.Usagef("sandbox: --bank needs --bundles DIR, where the acquirer reads the terminals' master keys")
		case o.bankControl != "" && o.bank == "":
			return cmdline.Usagef("sandbox: --bank-control needs --bank")
		}
		return runSandbox(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
	}
	return cmd
}

// parseSchedule reads a comma-separated list of durations.
func parseSchedule(s string) ([]time.Duration, error) {
	if s == "" {
		return nil, nil
	}
	var out []time.Duration
	for _, part := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil || d <= 0 {
			return nil, cmdline.Usagef("sandbox: --notify-schedule: %q is not a positive duration", part)
		}
		out = append(out, d)
	}
	return out, nil
}

// runSandbox runs the Alipay and WeChat Pay sandboxes on their own, and
// with o.bank the acquirer host too, for a posserver (or any client of the
// official SDKs) to be pointed at, and writes the keys and the
// posserver.toml sections that do so.
func runSandbox(ctx context.Context, o sandboxOpts, stdout, stderr io.Writer) error {
	schedule, err := parseSchedule(o.schedule)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	sb, err := standins.StartWallets(ctx, standins.WalletOptions{AlipayListen: o.alipay, WeChatListen: o.wechat,
		Logger: log, NotifySchedule: schedule})
	if err != nil {
		return err
	}
	defer sb.Close()
	bankAddr, controlAddr := "", ""
	if o.bank != "" {
		h, ctl, err := startAcquirer(o, log)
		if err != nil {
			return err
		}
		defer h.Close()
		if ctl != nil {
			defer ctl.Close()
			controlAddr = ctl.Addr().String()
		}
		bankAddr = o.bank
	}
	files, err := sb.WriteServerFiles(o.dir, standins.ServerFiles{Notify: o.notify, Bank: bankAddr})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Alipay sandbox:     %s/gateway.do (control: %s/control/)\n", sb.AlipayURL, sb.AlipayURL)
	fmt.Fprintf(stdout, "WeChat Pay sandbox: %s/v3/ (control: %s/control/)\n", sb.WeChatURL, sb.WeChatURL)
	if bankAddr != "" {
		fmt.Fprintf(stdout, "acquirer host:      %s (ISO 8583; master keys from the bundles in %s)\n", bankAddr, o.bundles)
	}
	if controlAddr != "" {
		fmt.Fprintf(stdout, "acquirer control:   http://%s/control/\n", controlAddr)
	}
	fmt.Fprintf(stdout, "posserver's sections, with the keys beside them: %s (copy them into posserver.toml)\n", files)
	<-ctx.Done()
	return nil
}

// startAcquirer starts the acquirer host on o.bank, knowing terminals from
// their bundles, and its control API on o.bankControl if set.
func startAcquirer(o sandboxOpts, log *slog.Logger) (*acquirer.Host, net.Listener, error) {
	keys := standins.NewBundleKeys(o.bundles, log)
	h := acquirer.New(acquirer.Options{MasterKey: keys.MasterKey, Logger: log, Balance: int64(o.cardBalance)})
	if _, err := h.Listen(o.bank); err != nil {
		return nil, nil, err
	}
	if o.bankControl == "" {
		return h, nil, nil
	}
	ln, err := net.Listen("tcp", o.bankControl)
	if err != nil {
		h.Close()
		return nil, nil, fmt.Errorf("acquirer control: %w", err)
	}
	srv := &http.Server{Handler: h.ControlHandler(), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			log.Error("acquirer control stopped", "err", err)
		}
	}()
	return h, ln, nil
}
