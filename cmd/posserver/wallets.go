package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/demo/standins"
	"github.com/multipos/multipos/server/connector"
	alipayconn "github.com/multipos/multipos/server/connector/alipay"
	wechatconn "github.com/multipos/multipos/server/connector/wechat"
)

// walletSet is the server's wallet connectors and what serves their
// notifications.
type walletSet struct {
	conns    map[api.Channel]connector.Wallet
	notify   map[string]func(connector.Notifier) http.Handler // path → handler
	sandbox  *standins.Wallets                                // the stand-ins, for wallets not configured
	notifyLn net.Listener
	real     []string
}

// openWallets builds the connectors the configuration names ([alipay],
// [wechat]: the real services unless it points them elsewhere) and, in demo
// mode, runs a wallet it does not name on the protocol-faithful sandboxes,
// in process. Outside demo mode a wallet it does not name has no connector.
func openWallets(ctx context.Context, cfg config.Server, log *slog.Logger) (*walletSet, error) {
	w := &walletSet{conns: map[api.Channel]connector.Wallet{}, notify: map[string]func(connector.Notifier) http.Handler{}}
	addr := cfg.NotifyListen
	if addr == "" {
		if !cfg.Demo {
			return w, nil // no wallet section (validation sees to it): nothing posts notifications
		}
		addr = "127.0.0.1:0" // the sandboxes' notifications only
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("notify listener %s: %w", addr, err)
	}
	w.notifyLn = ln
	if a := cfg.Alipay; a != nil {
		c, err := alipayConnector(a, log)
		if err != nil {
			ln.Close()
			return nil, err
		}
		w.conns[api.Alipay], w.notify["/notify/alipay"] = c, c.NotifyHandler
		w.real = append(w.real, "alipay "+or(a.Gateway, alipayconn.DefaultGateway))
	}
	if x := cfg.WeChat; x != nil {
		c, err := wechatConnector(ctx, x, log)
		if err != nil {
			ln.Close()
			return nil, err
		}
		w.conns[api.WeChat], w.notify["/notify/wechat"] = c, c.NotifyHandler
		w.real = append(w.real, "wechat "+or(x.Endpoint, "https://api.mch.weixin.qq.com"))
	}
	if cfg.Demo && len(w.conns) < 2 {
		sb, err := standins.StartWallets(ctx, standins.WalletOptions{NotifyBase: "http://" + ln.Addr().String(), Logger: log})
		if err != nil {
			ln.Close()
			return nil, err
		}
		w.sandbox = sb
		for ch, c := range sb.Connectors() {
			if w.conns[ch] == nil {
				w.conns[ch] = c
				path := "/notify/" + string(ch)
				if ch == api.Alipay {
					w.notify[path] = sb.AlipayConn.NotifyHandler
				} else {
					w.notify[path] = sb.WeChatConn.NotifyHandler
				}
			}
		}
	}
	return w, nil
}

// alipayConnector is the connector of an [alipay] section.
func alipayConnector(a *config.Alipay, log *slog.Logger) (*alipayconn.Connector, error) {
	key, err1 := os.ReadFile(a.PrivateKeyFile)
	pub, err2 := os.ReadFile(a.AlipayPublicKeyFile)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("[alipay] keys: %w", err)
	}
	c, err := alipayconn.New(alipayconn.Config{AppID: a.AppID, PrivateKeyPEM: key, AlipayPublicKeyPEM: pub,
		Gateway: a.Gateway, NotifyURL: a.NotifyURL}, log)
	if err != nil {
		return nil, fmt.Errorf("[alipay]: %w", err)
	}
	return c, nil
}

// wechatConnector is the connector of a [wechat] section.
func wechatConnector(ctx context.Context, x *config.WeChat, log *slog.Logger) (*wechatconn.Connector, error) {
	key, err1 := os.ReadFile(x.PrivateKeyFile)
	pub, err2 := os.ReadFile(x.PublicKeyFile)
	v3, err3 := os.ReadFile(x.APIv3KeyFile)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, fmt.Errorf("[wechat] keys: %w", err)
	}
	c, err := wechatconn.New(ctx, wechatconn.Config{MchID: x.MchID, AppID: x.AppID, MerchantSerial: x.SerialNo,
		MerchantPrivateKeyPEM: key, APIv3Key: strings.TrimSpace(string(v3)), PublicKeyID: x.PublicKeyID,
		WechatPayPublicKeyPEM: pub, Endpoint: x.Endpoint, NotifyURL: x.NotifyURL}, log)
	if err != nil {
		return nil, fmt.Errorf("[wechat]: %w", err)
	}
	return c, nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// serveNotify serves the wallets' notifications to n until ctx ends.
func (w *walletSet) serveNotify(ctx context.Context, n connector.Notifier, log *slog.Logger) {
	if w.notifyLn == nil {
		return
	}
	mux := http.NewServeMux()
	for path, h := range w.notify {
		mux.Handle("POST "+path, h(n))
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = srv.Shutdown(sctx)
		cancel()
	}()
	go func() {
		if err := srv.Serve(w.notifyLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("notify listener stopped", "err", err)
		}
	}()
	log.Info("wallet notifications", "addr", w.notifyLn.Addr().String())
}

func (w *walletSet) close() {
	if w.sandbox != nil {
		w.sandbox.Close()
	}
}
