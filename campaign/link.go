package campaign

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
)

// linkFaults sits in a terminal's HTTP transport to posserver and spoils
// its next mutating requests on command: the answer lost on the way back
// (the server did the work; the station sees the link drop and resends
// the same request id), or the request sent twice at once (a duplicated
// packet, a double press): the server must do the work once.
type linkFaults struct {
	rt   http.RoundTripper
	lose atomic.Int32
	dup  atomic.Int32
}

// errAnswerLost is what the station sees when the answer is lost.
var errAnswerLost = errors.New("the answer was lost on the way (campaign fault)")

func (l *linkFaults) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPost {
		return l.rt.RoundTrip(r)
	}
	if l.dup.Add(-1) >= 0 && r.GetBody != nil {
		if twin, err := clone(r); err == nil {
			go func() {
				if resp, err := l.rt.RoundTrip(twin); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
		}
	} else {
		l.dup.Add(1) // none to duplicate: give it back
	}
	resp, err := l.rt.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	if l.lose.Add(-1) >= 0 {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil, errAnswerLost
	}
	l.lose.Add(1)
	return resp, nil
}

// clone copies a request with its body, for the duplicate.
func clone(r *http.Request) (*http.Request, error) {
	body, err := r.GetBody()
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return nil, err
	}
	c := r.Clone(r.Context())
	c.Body = io.NopCloser(bytes.NewReader(b))
	return c, nil
}
