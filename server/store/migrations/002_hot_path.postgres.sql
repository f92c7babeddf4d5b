-- PostgreSQL only: the hot path's cost. Measured with pg_waldump on the
-- load test, a sale wrote about 40 WAL records, half of them index entries.
-- What is here takes out those that buy nothing the code does not already
-- guarantee.

-- multipos_refuse aborts the statement it is evaluated in, and with it
-- everything that statement wrote. The journal entry and each state change
-- are one statement (no BEGIN/COMMIT of their own); they call this when a
-- guard fails after something was written: a limit after the request
-- record went in, a sale already paid by another attempt. The caller then
-- says exactly why.
CREATE FUNCTION multipos_refuse(why TEXT) RETURNS INTEGER LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'MPREF', MESSAGE = 'multipos: refused: ' || why;
END
$$;

-- "At most one attempt of a sale succeeds" is kept by the sale row: the
-- change to SUCCESS moves its sale from OPEN to PAID in the same statement
-- and is refused whole when it cannot. The partial unique index said it a
-- second time, but naming `state` in its predicate made every state change
-- a non-HOT update that re-inserts the row into all its indexes.
DROP INDEX transactions_one_success;

-- Request ids are only ever looked up by age to forget old ones: a BRIN
-- index on the insertion time costs nothing per insert.
DROP INDEX requests_by_age;
CREATE INDEX requests_by_age ON requests USING brin (created_at);

-- Room on each page for the row's next version, so that updates which
-- touch no indexed column stay on the page (HOT): the answer to a request,
-- a QR code recorded, a lease taken, the day's totals.
ALTER TABLE transactions SET (fillfactor = 80);
ALTER TABLE requests SET (fillfactor = 70);
ALTER TABLE daily_totals SET (fillfactor = 50);
ALTER TABLE sales SET (fillfactor = 80);
