// Package ids makes the random ids multipos gives what it sends and
// journals: a station's request ids (the idempotency keys posserver keeps
// answers under), posserver's transaction ids, a sandbox's request ids.
// Neither the station nor the server owns it, so both use the one
// generator.
package ids

import (
	"crypto/rand"
	"strings"
)

// New returns a random id of 128 bits: 26 lowercase letters and digits,
// within what a request id may hold (api.IdempotencyHeader).
func New() string { return strings.ToLower(rand.Text()) }

// Prefixed returns New after prefix, as transaction ids have one saying
// what they are ("tx", "sa", "adj").
func Prefixed(prefix string) string { return prefix + New() }
