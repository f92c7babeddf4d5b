package wechat

import (
	"net/http"
	"slices"
	"strings"
)

// Orders returns the orders whose out_trade_no starts with one of the
// prefixes (every order when none is given), oldest first: a checker
// reconciling a merchant's journal against WeChat Pay's books reads them.
func (s *Sandbox) Orders(prefixes ...string) []OrderInfo {
	s.mu.Lock()
	var nos []string
	for no := range s.orders {
		if len(prefixes) == 0 || slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(no, p) }) {
			nos = append(nos, no)
		}
	}
	s.mu.Unlock()
	out := make([]OrderInfo, 0, len(nos))
	for _, no := range nos {
		if info, ok := s.Order(no); ok {
			out = append(out, info)
		}
	}
	slices.SortFunc(out, func(a, b OrderInfo) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.OutTradeNo, b.OutTradeNo)
	})
	return out
}

// controlOrders is GET /control/orders[?prefix=P…]: Orders as JSON.
func (s *Sandbox) controlOrders(w http.ResponseWriter, r *http.Request) {
	controlAnswer(w, s.Orders(r.URL.Query()["prefix"]...), nil)
}
