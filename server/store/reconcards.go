package store

import (
	"context"
	"fmt"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/server/reconcile"
)

// ReconCards loads the journal's card entries of the business day and its
// two neighbours as reconcile.CardEntry, refs[i] describing cards[i]: the
// sales (transactions, channel card) and their voids and refunds
// (card_adjustments), keyed as the terminal sent them. An entry a line of
// another day's run matched across days is left out; one a neighbour's own
// file matched is loaded, and found after matching (OwnDayMatched).
func (s *Store) ReconCards(ctx context.Context, day, prev, next string) ([]reconcile.CardEntry, []JournalRef, error) {
	var (
		cards []reconcile.CardEntry
		refs  []JournalRef
	)
	queries := []string{
		`SELECT x.id, 'card_sale', x.terminal_id, x.merchant_id, x.store_id, x.batch, x.trace, x.rrn, x.auth_code, x.amount,
			x.state, x.reason, x.day, x.version, '', '' FROM transactions x
			WHERE x.channel = 'card' AND x.kind = 'card_sale' AND x.day IN (?, ?, ?)`,
		`SELECT x.id, x.kind, x.terminal_id, t.merchant_id, t.store_id, x.batch, x.trace, x.rrn, x.auth_code, x.amount,
			x.state, x.reason, x.day, x.version, t.batch, t.trace FROM card_adjustments x JOIN transactions t ON t.id = x.original_id
			WHERE x.day IN (?, ?, ?)`,
	}
	taken, err := s.crossMatched(ctx, "card", day, prev, next)
	if err != nil {
		return nil, nil, fmt.Errorf("store: card journal of %s: %w", day, err)
	}
	for _, q := range queries {
		rows, err := s.r.QueryContext(ctx, s.q(q), prev, day, next)
		if err != nil {
			return nil, nil, fmt.Errorf("store: card journal of %s: %w", day, err)
		}
		for rows.Next() {
			var (
				e                reconcile.CardEntry
				ref              JournalRef
				kind, state, why string
			)
			if err := rows.Scan(&ref.ID, &kind, &e.Terminal, &ref.MerchantID, &ref.StoreID, &e.Batch, &e.Trace, &e.RRN, &e.AuthCode,
				&e.Amount, &state, &why, &e.Day, &ref.Version, &e.OrigBatch, &e.OrigTrace); err != nil {
				rows.Close()
				return nil, nil, fmt.Errorf("store: card journal of %s: %w", day, err)
			}
			if taken[ref.ID] {
				continue
			}
			ref.TermID, ref.State, e.Merchant = e.Terminal, api.State(state), ref.MerchantID
			e.Kind, e.State = cardEntryKind(kind), cardState(ref.State, why)
			cards = append(cards, e)
			refs = append(refs, ref)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("store: card journal of %s: %w", day, err)
		}
	}
	return cards, refs, nil
}

func cardEntryKind(kind string) reconcile.CardKind {
	switch api.Kind(kind) {
	case api.KindCardVoid:
		return reconcile.CardVoid
	case api.KindCardRefund:
		return reconcile.CardRefund
	}
	return reconcile.CardSale
}

// cardState is a card entry's state as matching sees it (CardEntry's doc).
func cardState(st api.State, reason string) reconcile.OrderState {
	switch st {
	case api.StateSuccess:
		return reconcile.OrderPaid
	case api.StateFailed:
		return reconcile.OrderFailed
	case api.StateClosed:
		if reason == api.ReasonReversed {
			return reconcile.OrderReversed
		}
		return reconcile.OrderClosed
	}
	return reconcile.OrderPending
}
