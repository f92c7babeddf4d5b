package wechat

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"
)

// envelope is a notification's body; resource holds the encrypted payload.
type envelope struct {
	ID           string   `json:"id"`
	CreateTime   string   `json:"create_time"`
	ResourceType string   `json:"resource_type"`
	EventType    string   `json:"event_type"`
	Summary      string   `json:"summary"`
	Resource     resource `json:"resource"`
}

type resource struct {
	OriginalType   string `json:"original_type"`
	Algorithm      string `json:"algorithm"`
	Ciphertext     string `json:"ciphertext"`
	AssociatedData string `json:"associated_data"`
	Nonce          string `json:"nonce"`
}

type notification struct {
	id         string
	eventType  string
	outTradeNo string
	url        string
	body       []byte
}

// Delivery is one attempt to deliver a notification.
type Delivery struct {
	ID         string    `json:"id"`
	EventType  string    `json:"event_type"`
	OutTradeNo string    `json:"out_trade_no"`
	URL        string    `json:"url"`
	Attempt    int       `json:"attempt"` // 1 for the first
	Status     int       `json:"status"`  // the merchant's HTTP status; 0 when none came
	Err        string    `json:"err,omitempty"`
	BadSig     bool      `json:"bad_signature,omitempty"`
	At         time.Time `json:"at"`
}

// Acknowledged reports whether the merchant took the notification.
func (d Delivery) Acknowledged() bool { return d.Status >= 200 && d.Status < 300 }

// notifyLocked encrypts payload into a notification for url and sends it
// (or holds it). Called with s.mu held.
func (s *Sandbox) notifyLocked(eventType, summary, originalType, outTradeNo, url string, payload any) {
	plain, err := json.Marshal(payload)
	if err != nil {
		s.log.Error("marshal notification", "err", err)
		return
	}
	nonce := randomString(12)
	ct := s.aead.Seal(nil, []byte(nonce), plain, []byte(originalType))
	now := s.now()
	env := envelope{
		ID: "EV-" + now.In(cst).Format("20060102150405") + randomString(8), CreateTime: now.In(cst).Format(time.RFC3339),
		ResourceType: "encrypt-resource", EventType: eventType, Summary: summary,
		Resource: resource{OriginalType: originalType, Algorithm: "AEAD_AES_256_GCM",
			Ciphertext: base64.StdEncoding.EncodeToString(ct), AssociatedData: originalType, Nonce: nonce},
	}
	body, err := json.Marshal(env)
	if err != nil {
		s.log.Error("marshal notification", "err", err)
		return
	}
	n := &notification{id: env.ID, eventType: eventType, outTradeNo: outTradeNo, url: url, body: body}
	if s.held {
		s.queued = append(s.queued, n)
		return
	}
	s.dispatchLocked(n, nil)
}

// dispatchLocked starts delivering n, twice when a duplicate is due. Its
// first attempt waits for after (nil: none), so that a released queue
// arrives in the order chosen; the returned channel closes when n's first
// attempt is over. Called with s.mu held.
func (s *Sandbox) dispatchLocked(n *notification, after <-chan struct{}) <-chan struct{} {
	copies := 1
	if s.dupNotify > 0 {
		s.dupNotify--
		copies = 2
	}
	for range copies {
		after = s.deliverLocked(n, after)
	}
	return after
}

// deliverLocked posts n until the merchant answers 2xx or the schedule
// runs out. Called with s.mu held.
func (s *Sandbox) deliverLocked(n *notification, after <-chan struct{}) <-chan struct{} {
	first := make(chan struct{})
	if s.closed {
		close(first)
		return first
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if after != nil {
			select {
			case <-after:
			case <-s.ctx.Done():
				close(first)
				return
			}
		}
		for attempt := 1; ; attempt++ {
			d := s.post(n, attempt)
			s.mu.Lock()
			s.deliveries = append(s.deliveries, d)
			s.mu.Unlock()
			if attempt == 1 {
				close(first)
			}
			if d.Acknowledged() {
				return
			}
			if attempt > len(s.opts.NotifySchedule) {
				s.log.Warn("notification dropped after the last retry", "id", n.id, "out_trade_no", n.outTradeNo)
				return
			}
			wait := s.opts.NotifySchedule[attempt-1]
			s.log.Info("notification not acknowledged", "id", n.id, "event_type", n.eventType,
				"out_trade_no", n.outTradeNo, "attempt", attempt, "status", d.Status, "err", d.Err, "retry_in", wait)
			t := time.NewTimer(wait)
			select {
			case <-s.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
	}()
	return first
}

// post makes one delivery attempt, signed afresh: a retry hours later
// must still fall within the merchant's timestamp window.
func (s *Sandbox) post(n *notification, attempt int) Delivery {
	s.mu.Lock()
	bad := s.badNotify > 0
	if bad {
		s.badNotify--
	}
	s.mu.Unlock()
	d := Delivery{ID: n.id, EventType: n.eventType, OutTradeNo: n.outTradeNo, URL: n.url, Attempt: attempt,
		BadSig: bad, At: s.now()}
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, n.url, bytes.NewReader(n.body))
	if err != nil {
		d.Err = err.Error()
		return d
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Mozilla/4.0")
	req.Header.Set("Request-ID", requestID())
	s.sign(req.Header, n.body, bad)
	resp, err := s.opts.HTTPClient.Do(req)
	if err != nil {
		d.Err = err.Error()
		return d
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	d.Status = resp.StatusCode
	if !d.Acknowledged() {
		d.Err = fmt.Sprintf("merchant answered %d", resp.StatusCode)
	}
	return d
}

// Deliveries returns every notification attempt so far, oldest first.
func (s *Sandbox) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}

// DuplicateNextNotification delivers the next notification twice, as
// WeChat Pay may.
func (s *Sandbox) DuplicateNextNotification() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dupNotify++
}

// BadSignatureNextNotification spoils the signature of the next delivery
// attempt; the retries after it are signed properly.
func (s *Sandbox) BadSignatureNextNotification() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.badNotify++
}

// HoldNotifications queues notifications instead of sending them, until
// ReleaseNotifications.
func (s *Sandbox) HoldNotifications() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.held = true
}

// ReleaseNotifications sends the queued notifications, newest first when
// reversed (out of order), and stops holding.
func (s *Sandbox) ReleaseNotifications(reversed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.held = false
	q := s.queued
	s.queued = nil
	if reversed {
		slices.Reverse(q)
	}
	var after <-chan struct{}
	for _, n := range q {
		after = s.dispatchLocked(n, after)
	}
}
