package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/bundle"
	"github.com/multipos/multipos/cmd/internal/cmdline"
	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/server"
	"github.com/multipos/multipos/server/pki"
	"github.com/multipos/multipos/server/store"
)

func terminalCmd() *cobra.Command {
	return cmdline.Group(&cobra.Command{
		Use:   "terminal",
		Short: "Register terminals, list them, disable, enable or reissue one",
		Long: `terminal manages the stations that may use the server. A terminal is
registered with "add", which writes its bundle: the terminal's private key,
certificate and master key, for its pos.toml (bundle = "T001.pem").`,
	}, terminalAddCmd(), terminalListCmd(), terminalEnableCmd(false), terminalEnableCmd(true), terminalReissueCmd())
}

// publicURL is where terminals reach this server: the configured URL, or
// the first certificate host at the listen port.
func publicURL(cfg config.Server) (string, error) {
	if cfg.PublicURL != "" {
		return cfg.PublicURL, nil
	}
	_, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return "", fmt.Errorf("listen %q: %w", cfg.Listen, err)
	}
	if len(cfg.Hosts) == 0 {
		return "", errors.New("no hosts configured for the server certificate")
	}
	return "https://" + net.JoinHostPort(cfg.Hosts[0], port), nil
}

// issuer opens what issuing credentials takes: the database, the server's
// authority, and the URL bundles name.
func issuer(ctx context.Context, cfg config.Server) (*store.Store, *pki.Authority, string, error) {
	url, err := publicURL(cfg)
	if err != nil {
		return nil, nil, "", err
	}
	ca, err := openAuthority(cfg, nil)
	if err != nil {
		return nil, nil, "", err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, nil, "", err
	}
	return st, ca, url, nil
}

func terminalAddCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "add --merchant M --store S --id T001",
		Short:   "Register a terminal and write its bundle",
		Example: "  posserver terminal add --merchant 898310048160001 --merchant-name 'Shop 一号店' --store S01 --id T001",
		Args:    cmdline.Args(cobra.NoArgs),
	}
	c := configFlags(cmd)
	merchant := cmd.Flags().String("merchant", "", "merchant id (letters and digits, e.g. 898310048160001)")
	merchantName := cmd.Flags().String("merchant-name", "", "merchant name printed on receipts (when the merchant is new)")
	storeID := cmd.Flags().String("store", "", "store id within the merchant")
	id := cmd.Flags().String("id", "", "terminal id (letters and digits, up to 8, ISO 8583 field 41)")
	out := cmd.Flags().String("out", "", "where to write the terminal's bundle (default ID.pem)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := c.load()
		if err != nil {
			return err
		}
		return terminalAdd(cmd.Context(), cfg, bundle.Identity{TerminalID: *id, MerchantID: *merchant, StoreID: *storeID},
			*merchantName, *out, cmd.OutOrStdout())
	}
	return cmd
}

// terminalAdd registers the terminal and writes its bundle to out.
func terminalAdd(ctx context.Context, cfg config.Server, t bundle.Identity, merchantName, out string, stdout io.Writer) error {
	id := t.TerminalID
	if t.MerchantID == "" || t.StoreID == "" || t.TerminalID == "" {
		return cmdline.Usagef("terminal add: --merchant, --store and --id are required")
	}
	if len(id) > 8 {
		return fmt.Errorf("terminal add: terminal id %q is longer than 8 characters (ISO 8583 field 41)", id)
	}
	if out == "" {
		out = id + ".pem"
	}
	st, ca, url, err := issuer(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Terminal(ctx, id); err == nil {
		return fmt.Errorf("terminal %s is already registered; `posserver terminal reissue %s` gives it new credentials", id, id)
	}
	b, err := server.Provision(ctx, st, ca, t, merchantName, url, time.Now())
	if err != nil {
		return err
	}
	if err := bundle.Write(out, b, false); err != nil {
		return fmt.Errorf("terminal %s is registered, but its bundle could not be written (run `posserver terminal reissue %s`): %w", id, id, err)
	}
	abs, _ := filepath.Abs(out)
	fmt.Fprintf(stdout, "terminal %s registered (merchant %s, store %s)\n", id, t.MerchantID, t.StoreID)
	fmt.Fprintf(stdout, "bundle written to %s (master key check value %s)\n", abs, b.KCV)
	fmt.Fprintf(stdout, "it holds the terminal's private key and master key: copy it to the station only, and set in its pos.toml:\n  bundle = %q\n", filepath.Base(out))
	return nil
}

func terminalReissueCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "reissue ID",
		Short: "Give a terminal new credentials (the old bundle stops working)",
		Args:  cmdline.Args(cobra.ExactArgs(1)),
	}
	c := configFlags(cmd)
	out := cmd.Flags().String("out", "", "where to write the new bundle (default ID.pem, replacing it)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		cfg, err := c.load()
		if err != nil {
			return err
		}
		return terminalReissue(cmd.Context(), cfg, args[0], *out, cmd.OutOrStdout())
	}
	return cmd
}

// terminalReissue gives terminal id new credentials and writes its bundle to out.
func terminalReissue(ctx context.Context, cfg config.Server, id, out string, stdout io.Writer) error {
	if out == "" {
		out = id + ".pem"
	}
	st, ca, url, err := issuer(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	b, err := server.Reissue(ctx, st, ca, id, url, time.Now())
	if err != nil {
		return err
	}
	if err := bundle.Write(out, b, true); err != nil {
		return fmt.Errorf("terminal %s has new credentials, but the bundle could not be written (reissue again): %w", id, err)
	}
	fmt.Fprintf(stdout, "terminal %s reissued: the old bundle no longer works; new bundle in %s (master key check value %s)\n", id, out, b.KCV)
	return nil
}

func terminalEnableCmd(enable bool) *cobra.Command {
	verb := map[bool]string{true: "enable", false: "disable"}[enable]
	short := map[bool]string{true: "Let a disabled terminal take payments again",
		false: "Stop a terminal from taking payments (its credentials are refused)"}[enable]
	cmd := &cobra.Command{Use: verb + " ID", Short: short, Args: cmdline.Args(cobra.ExactArgs(1))}
	c := configFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		cfg, err := c.load()
		if err != nil {
			return err
		}
		return terminalEnable(cmd.Context(), cfg, args[0], enable, cmd.OutOrStdout())
	}
	return cmd
}

// terminalEnable enables or disables terminal id.
func terminalEnable(ctx context.Context, cfg config.Server, id string, enable bool, stdout io.Writer) error {
	verb := map[bool]string{true: "enable", false: "disable"}[enable]
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.SetTerminalEnabled(ctx, id, enable, time.Now()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no terminal %s is registered", id)
		}
		return err
	}
	fmt.Fprintf(stdout, "terminal %s %sd (servers apply it within %s)\n", id, verb, server.DefaultCacheTTL)
	return nil
}

func terminalListCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the terminals: state, whether online, last transaction, limits",
		Args:  cmdline.Args(cobra.NoArgs),
	}
	c := configFlags(cmd)
	merchant := cmd.Flags().String("merchant", "", "only this merchant's terminals")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := c.load()
		if err != nil {
			return err
		}
		return terminalList(cmd.Context(), cfg, *merchant, cmd.OutOrStdout())
	}
	return cmd
}

// terminalList prints the terminals (of merchant, if not "").
func terminalList(ctx context.Context, cfg config.Server, merchant string, stdout io.Writer) error {
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	list, err := st.Terminals(ctx, merchant)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintln(stdout, "no terminals registered; add one with: posserver terminal add --merchant M --store S --id T001")
		return nil
	}
	now := time.Now()
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TERMINAL\tMERCHANT\tSTORE\tSTATE\tONLINE\tLAST SEEN\tLAST TRANSACTION\tALIPAY\tWECHAT\tCARD")
	for _, t := range list {
		rules, err := st.Limits(ctx, t.MerchantID, t.ID)
		if err != nil {
			return err
		}
		lim := server.EffectiveLimits(server.ChannelLimits(cfg.Limits), server.ChannelLimits(cfg.MerchantLimits), rules)
		state := "enabled"
		if !t.Enabled {
			state = "DISABLED"
		}
		online := "no"
		if !t.LastSeenAt.IsZero() && now.Sub(t.LastSeenAt) < server.OnlineWindow {
			online = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.MerchantID, t.StoreID, state, online,
			ago(now, t.LastSeenAt), lastTx(now, t.LastTx),
			channelCell(lim[api.Alipay]), channelCell(lim[api.WeChat]), channelCell(lim[api.Card]))
	}
	return tw.Flush()
}

func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return now.Sub(t).Round(time.Second).String() + " ago"
}

func lastTx(now time.Time, o *api.Order) string {
	if o == nil {
		return "none"
	}
	return fmt.Sprintf("%s %s %s %s", o.Channel, money.Fen(o.Amount).Yuan(), o.State, ago(now, o.CreatedAt))
}

// channelCell shows a channel's setting as "off" or "single/daily" in yuan
// ("-" for no limit), with the merchant's daily limit after a '+' if set.
func channelCell(l server.Limits) string {
	if !l.Enabled {
		return "off"
	}
	amt := func(f int64) string {
		if f == 0 {
			return "-"
		}
		return strings.TrimSuffix(money.Fen(f).Grouped(), ".00")
	}
	s := amt(l.Single) + "/" + amt(l.Daily)
	if l.MerchantDaily > 0 {
		s += " +M" + amt(l.MerchantDaily)
	}
	return s
}
