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

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/bundle"
	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/server"
	"github.com/multipos/multipos/server/pki"
	"github.com/multipos/multipos/server/store"
)

func terminalCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("terminal: say add, list, disable, enable or reissue")
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "add":
		return terminalAdd(ctx, args, stdout, stderr)
	case "list":
		return terminalList(ctx, args, stdout, stderr)
	case "disable", "enable":
		return terminalEnable(ctx, sub == "enable", args, stdout, stderr)
	case "reissue":
		return terminalReissue(ctx, args, stdout, stderr)
	}
	return fmt.Errorf("terminal: unknown subcommand %q (add, list, disable, enable, reissue)", sub)
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

func terminalAdd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newFlags("terminal add", stderr)
	merchant := c.fl.String("merchant", "", "merchant id (letters and digits, e.g. 898310048160001)")
	merchantName := c.fl.String("merchant-name", "", "merchant name printed on receipts (when the merchant is new)")
	storeID := c.fl.String("store", "", "store id within the merchant")
	id := c.fl.String("id", "", "terminal id (letters and digits, up to 8, ISO 8583 field 41)")
	out := c.fl.String("out", "", "where to write the terminal's bundle (default ID.pem)")
	cfg, err := c.parse(args)
	if err != nil {
		return err
	}
	switch {
	case *merchant == "" || *storeID == "" || *id == "":
		return errors.New("terminal add: -merchant, -store and -id are required")
	case len(*id) > 8:
		return fmt.Errorf("terminal add: terminal id %q is longer than 8 characters (ISO 8583 field 41)", *id)
	}
	if *out == "" {
		*out = *id + ".pem"
	}
	st, ca, url, err := issuer(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Terminal(ctx, *id); err == nil {
		return fmt.Errorf("terminal %s is already registered; `posserver terminal reissue %s` gives it new credentials", *id, *id)
	}
	b, err := server.Provision(ctx, st, ca, bundle.Identity{TerminalID: *id, MerchantID: *merchant, StoreID: *storeID},
		*merchantName, url, time.Now())
	if err != nil {
		return err
	}
	if err := bundle.Write(*out, b, false); err != nil {
		return fmt.Errorf("terminal %s is registered, but its bundle could not be written (run `posserver terminal reissue %s`): %w", *id, *id, err)
	}
	abs, _ := filepath.Abs(*out)
	fmt.Fprintf(stdout, "terminal %s registered (merchant %s, store %s)\n", *id, *merchant, *storeID)
	fmt.Fprintf(stdout, "bundle written to %s (master key check value %s)\n", abs, b.KCV)
	fmt.Fprintf(stdout, "it holds the terminal's private key and master key: copy it to the station only, and set in its pos.toml:\n  bundle = %q\n", filepath.Base(*out))
	return nil
}

func terminalReissue(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newFlags("terminal reissue", stderr)
	out := c.fl.String("out", "", "where to write the new bundle (default ID.pem, replacing it)")
	cfg, err := c.parse(args)
	if err != nil {
		return err
	}
	if c.fl.NArg() != 1 {
		return errors.New("terminal reissue: name one terminal id")
	}
	id := c.fl.Arg(0)
	if *out == "" {
		*out = id + ".pem"
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
	if err := bundle.Write(*out, b, true); err != nil {
		return fmt.Errorf("terminal %s has new credentials, but the bundle could not be written (reissue again): %w", id, err)
	}
	fmt.Fprintf(stdout, "terminal %s reissued: the old bundle no longer works; new bundle in %s (master key check value %s)\n", id, *out, b.KCV)
	return nil
}

func terminalEnable(ctx context.Context, enable bool, args []string, stdout, stderr io.Writer) error {
	verb := map[bool]string{true: "enable", false: "disable"}[enable]
	c := newFlags("terminal "+verb, stderr)
	cfg, err := c.parse(args)
	if err != nil {
		return err
	}
	if c.fl.NArg() != 1 {
		return fmt.Errorf("terminal %s: name one terminal id", verb)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.SetTerminalEnabled(ctx, c.fl.Arg(0), enable, time.Now()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no terminal %s is registered", c.fl.Arg(0))
		}
		return err
	}
	fmt.Fprintf(stdout, "terminal %s %sd (servers apply it within %s)\n", c.fl.Arg(0), verb, server.DefaultCacheTTL)
	return nil
}

func terminalList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newFlags("terminal list", stderr)
	merchant := c.fl.String("merchant", "", "only this merchant's terminals")
	cfg, err := c.parse(args)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	list, err := st.Terminals(ctx, *merchant)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintln(stdout, "no terminals registered; add one with: posserver terminal add -merchant M -store S -id T001")
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
