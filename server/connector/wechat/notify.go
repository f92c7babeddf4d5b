package wechat

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/validators"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"

	"github.com/multipos/multipos/server/connector"
)

// NotifyHandler serves Config.NotifyURL. A payment notification is
// verified (Wechatpay-* signature with WeChat Pay's public key, timestamp
// within 5 minutes), decrypted with the APIv3 key, checked to be this
// merchant's, and handed to n; the answer is 204 only when n took it, and
// 500 {"code":"FAIL"} otherwise, so that WeChat Pay sends it again.
// Anything forged, tampered with, undecryptable or another merchant's gets
// a 4xx, is logged, and never reaches n. Refund notifications are
// verified and acknowledged; refunds are followed by QueryRefund.
func (c *Connector) NotifyHandler(n connector.Notifier) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env, plain, no := c.openNotification(w, r)
		if no == nil {
			switch env.Resource.OriginalType {
			case "transaction":
				no = c.applyTransaction(w, r, n, env, plain)
			case "refund":
				no = c.ackRefund(w, env, plain)
			default:
				// Signed by WeChat Pay but of no use here: acknowledged, or it
				// would come back for a day.
				c.log.Warn("notification of an unknown kind acknowledged", "id", env.ID, "event_type", env.EventType,
					"original_type", env.Resource.OriginalType)
				w.WriteHeader(http.StatusNoContent)
			}
		}
		if no != nil {
			c.log.Warn("notification refused", append([]any{"why", no.why, "remote", r.RemoteAddr,
				"request_id", r.Header.Get("Request-ID"), "serial", r.Header.Get("Wechatpay-Serial")}, no.attrs...)...)
			answer(w, no.status, "FAIL", no.why)
		}
	})
}

// refusal is a notification refused: the answer's status, why, and what
// the log says of it.
type refusal struct {
	status int
	why    string
	attrs  []any
}

func refuse(status int, why string, attrs ...any) *refusal {
	return &refusal{status: status, why: why, attrs: attrs}
}

// envelope is a notification's outside, before its resource is decrypted.
type envelope struct {
	ID         string `json:"id"`
	CreateTime string `json:"create_time"`
	EventType  string `json:"event_type"`
	Resource   struct {
		OriginalType string `json:"original_type"`
		Algorithm    string `json:"algorithm"`
		Nonce        string `json:"nonce"`
	} `json:"resource"`
}

// openNotification reads a notification, checks its signature and
// decrypts its resource.
func (c *Connector) openNotification(w http.ResponseWriter, r *http.Request) (envelope, []byte, *refusal) {
	var env envelope
	if r.Method != http.MethodPost {
		return env, nil, refuse(http.StatusMethodNotAllowed, "not a POST")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		return env, nil, refuse(http.StatusBadRequest, "unreadable body")
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	// The signature first: nothing unsigned is even parsed further.
	if err := validators.NewWechatPayNotifyValidator(c.verifier).Validate(r.Context(), r); err != nil {
		return env, nil, refuse(http.StatusUnauthorized, "signature does not verify", "err", err)
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return env, nil, refuse(http.StatusBadRequest, "body is not a notification", "err", err)
	}
	// The SDK hands the nonce to AES-GCM as is, which panics on any
	// length but 12.
	if env.Resource.Algorithm != "AEAD_AES_256_GCM" || len(env.Resource.Nonce) != 12 {
		return env, nil, refuse(http.StatusBadRequest, "resource is not AEAD_AES_256_GCM with a 12-byte nonce", "id", env.ID)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	req, err := c.notify.ParseNotifyRequest(r.Context(), r, new(json.RawMessage))
	if err != nil {
		return env, nil, refuse(http.StatusBadRequest, "resource does not decrypt", "id", env.ID, "err", err)
	}
	return env, []byte(req.Resource.Plaintext), nil
}

// ackRefund acknowledges a refund notification of this merchant.
func (c *Connector) ackRefund(w http.ResponseWriter, env envelope, plain []byte) *refusal {
	var rf struct {
		MchID        string `json:"mchid"`
		OutTradeNo   string `json:"out_trade_no"`
		OutRefundNo  string `json:"out_refund_no"`
		RefundStatus string `json:"refund_status"`
	}
	if err := json.Unmarshal(plain, &rf); err != nil || rf.MchID != c.cfg.MchID {
		return refuse(http.StatusBadRequest, "refund notification is not this merchant's", "id", env.ID, "mchid", rf.MchID)
	}
	c.log.Info("refund notification", "id", env.ID, "event_type", env.EventType, "out_trade_no", rf.OutTradeNo,
		"out_refund_no", rf.OutRefundNo, "refund_status", rf.RefundStatus)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// applyTransaction hands a payment notification of this merchant to n.
func (c *Connector) applyTransaction(w http.ResponseWriter, r *http.Request, n connector.Notifier, env envelope, plain []byte) *refusal {
	var t payments.Transaction
	if err := json.Unmarshal(plain, &t); err != nil {
		return refuse(http.StatusBadRequest, "transaction does not parse", "id", env.ID, "err", err)
	}
	if deref(t.Mchid) != c.cfg.MchID || deref(t.Appid) != c.cfg.AppID {
		return refuse(http.StatusBadRequest, "another merchant's notification", "id", env.ID, "mchid", deref(t.Mchid), "appid", deref(t.Appid))
	}
	state, known := walletState(deref(t.TradeState))
	if deref(t.OutTradeNo) == "" || !known || t.Amount == nil || t.Amount.Total == nil {
		return refuse(http.StatusBadRequest, "transaction lacks out_trade_no, a known trade_state or amount.total", "id", env.ID)
	}
	note := connector.Notification{Channel: "wechat", OutTradeNo: *t.OutTradeNo, TradeNo: deref(t.TransactionId),
		State: state, Amount: *t.Amount.Total, At: notifiedAt(deref(t.SuccessTime), env.CreateTime)}
	if err := n.Notify(r.Context(), note); err != nil {
		c.log.Warn("notification not applied; WeChat Pay will send it again", "id", env.ID,
			"out_trade_no", note.OutTradeNo, "err", err)
		answer(w, http.StatusInternalServerError, "FAIL", "not applied, send it again")
		return nil
	}
	c.log.Info("notification applied", "id", env.ID, "event_type", env.EventType, "out_trade_no", note.OutTradeNo,
		"state", string(note.State), "amount", note.Amount)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// notifiedAt is when the payment happened: success_time, else the
// notification's create_time, else now.
func notifiedAt(times ...string) time.Time {
	for _, s := range times {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t
		}
	}
	return time.Now()
}

// answer writes WeChat Pay's {"code","message"} reply.
func answer(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
}
