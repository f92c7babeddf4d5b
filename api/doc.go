// Package api is the terminal-facing JSON-over-HTTPS contract of posserver:
// the request and response bodies, the transaction states and the error codes.
// The server and the terminal's client (package posclient) both use it, so the
// two sides cannot drift apart.
//
// Every request is made over mutual TLS with the terminal's client
// certificate (from its bundle, see package bundle); the certificate is
// the terminal's identity, and a terminal sees and acts on its own
// transactions only (another terminal's id is answered "not found").
//
//	GET  /v1/ping                       round-trip time
//	POST /v1/heartbeat                  Heartbeat → HeartbeatAnswer: online state,
//	                                    acknowledgements, results not yet seen
//	GET  /v1/terminal                   TerminalInfo: merchant, store, channels and limits
//	POST /v1/orders                     CreateWalletOrder → Order (state PENDING, QR content)
//	GET  /v1/orders/{id}?after=V&wait=D long-poll: answers as soon as the order's
//	                                    Version is above V, or after D (≤ 30s)
//	GET  /v1/orders?trace=T             the order this terminal created with trace T
//	POST /v1/orders/{id}/cancel         close a wallet order at the channel → Order
//	POST /v1/orders/barcode             CreateBarcodeOrder → Order: the payment code
//	                                    the customer shows (付款码)
//	POST /v1/card/signon                SignOn → SignedOn: the terminal's working keys
//	POST /v1/card/sales                 CardSale → Order (SUCCESS, FAILED or UNKNOWN)
//	POST /v1/card/voids                 CardAdjust → Order: a void of a sale of today
//	POST /v1/card/refunds               CardAdjust → Order: a refund of part or all of a sale
//	POST /v1/card/balance               CardBalance → Balance; no money moves
//
// A card sale that is looked up (by id or trace) says what was refunded
// and voided of it (Order.Refunded, Order.Voided). A void or refund the
// sale does not allow is refused with CodeNotAdjustable and says why in
// Error.Reason (the Adjust* reasons); a refund of more than is left
// (AdjustOverRefund) has what is left, in fen, in Error.Limit.
//
// Demo mode only (TerminalInfo.Demo), for the trainer playing the customer
// when the wallets are the sandbox stand-ins:
//
//	POST /v1/demo/orders/{id}/pay       the customer pays the QR order → Order
//	POST /v1/demo/orders/{id}/decline   the customer refuses it → Order
//
// Calls that can move money (the POSTs above but the heartbeat, the
// sign-on and the balance inquiry) carry a request id in the Idempotency-Key header: a replay returns the first
// answer, the same id with other parameters is refused with
// CodeIdempotencyConflict. An order is one attempt to pay a sale; a sale may
// be attempted again (SaleID) once its earlier attempts failed or were
// closed, and at most one attempt of a sale succeeds. Errors come back as an
// Error body with a 4xx or 5xx status. A request body is JSON and says so
// (Content-Type: application/json, charset utf-8 if any); any other is
// refused with 415 and CodeUnsupportedMediaType. The server logs every
// refusal (4xx) without its body or query, a few per terminal at a time.
package api
