// Package api is the terminal-facing JSON-over-HTTP contract of posserver:
// the request and response bodies, the transaction states and the error codes.
// The server and the terminal's client (package channels) both use it, so the
// two sides cannot drift apart.
//
// Endpoints (every request carries the X-Terminal-ID header):
//
//	GET  /v1/ping                       liveness and round-trip time
//	GET  /v1/terminal                   TerminalInfo: merchant, channels and limits
//	POST /v1/orders                     CreateWalletOrder → Order (state PENDING, QR content)
//	GET  /v1/orders/{id}?after=V&wait=D long-poll: answers as soon as the order's
//	                                    Version is above V, or after D (≤ 30s)
//	GET  /v1/orders?trace=T             the order this terminal created with trace T
//	POST /v1/orders/{id}/cancel         close a wallet order at the channel → Order
//	POST /v1/card/sales                 CardSale → Order (SUCCESS or FAILED)
//
// Demo mode only (TerminalInfo.Demo), for the trainer playing the customer
// when the wallets are the sandbox stand-ins:
//
//	POST /v1/demo/orders/{id}/pay       the customer pays the QR order → Order
//	POST /v1/demo/orders/{id}/decline   the customer refuses it → Order
//
// Mutating calls are idempotent on terminal id + trace: a replay returns the
// order created by the first call; the same trace with other parameters is
// refused with CodeIdempotencyConflict. Errors come back as an Error body with
// a 4xx or 5xx status.
package api
