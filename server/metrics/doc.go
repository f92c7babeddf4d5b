// Package metrics holds posserver's Prometheus metrics: HTTP traffic per
// route, transactions reaching each state per channel, the latency and
// outcome of every payment-channel call, wallet notifications, sweeper
// actions, idempotent replays and the number of terminals online.
//
// *Metrics implements server.Metrics; posserver passes one to the server,
// which itself depends on that interface only, so that a server run
// in-process without metrics (the cashier app's demo) links no Prometheus.
//
// Each Metrics owns its registry instead of using the global one, so that
// several servers started in one test process never collide on
// registration. A nil *Metrics is valid and records nothing, so code that
// does not want metrics passes nil rather than guarding every call site.
//
// Route labels are the mux pattern ("POST /v1/orders"), never the raw path:
// order ids in paths would otherwise create one time series per order.
package metrics
