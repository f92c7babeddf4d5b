-- Traces are unique per batch (the traces table says so), no longer per
-- terminal forever: a trace comes round again in the next batch. And a
-- wallet order may be CANCELLING: closed at its wallet, answer awaited.
ALTER TABLE transactions DROP CONSTRAINT transactions_terminal_id_trace_key;
ALTER TABLE card_adjustments DROP CONSTRAINT card_adjustments_terminal_id_trace_key;
ALTER TABLE transactions DROP CONSTRAINT transactions_state_check;
ALTER TABLE transactions ADD CONSTRAINT transactions_state_check
    CHECK (state IN ('CREATED', 'PENDING', 'UNKNOWN', 'CANCELLING', 'SUCCESS', 'FAILED', 'CLOSED'));
-- Look-ups by trace (what became of a request whose answer was lost).
CREATE INDEX transactions_by_trace ON transactions (terminal_id, trace);
CREATE INDEX card_adjustments_by_trace ON card_adjustments (terminal_id, trace);
