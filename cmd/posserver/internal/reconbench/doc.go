// Package reconbench measures reconciliation (核销) end to end at scale:
// the lines of one day's Alipay trade bill against the journal's orders of
// that day, on SQLite and on PostgreSQL, next to a plain SQL join of the
// same rows in the same database (the anchor the figures are held against).
//
// Day generates both sides from each order's index, so that they agree
// except where they are made to differ (one order in 1,000 of each kind: an
// amount, a payment under a number the journal lacks, a sale the journal
// shows closed). AlipayBill writes the bill as Alipay ships it and as
// sandbox/alipay writes it: a zip of GBK CSV files with GBK names, the
// 25-column 业务明细 with IDs ending in a tab, and its 汇总. The journal is
// bulk-loaded into a fresh store's own sales and transactions tables
// (COPY on PostgreSQL, multi-row INSERTs on SQLite): setup, not timed
// against the goal.
//
// Run then times, Runs times per engine, the product's steps one after the
// other: parse (reconcile.AlipayBill), load the day's
// journal (store.ReconJournal), reconcile.Match, store the results
// (store.ClaimReconRun and store.FinishReconRun, the run's lines replacing
// the previous run's); and, in the same run and database, the anchor: a
// CREATE TABLE … AS SELECT of the bill lines (loaded into a table
// beforehand) LEFT JOINed with transactions on (channel, out_trade_no),
// classified with a CASE. The first run of each engine checks what both
// found against the day.
//
// Turning matching's results into the store's lines is server/dayend's
// work (its settle, which also settles the safe differences, and sets the
// exact matches apart as packed store.MatchedLines): toLines takes
// dayend.Lines and marks the differences, none of which is a safe one in
// this data, so that the steps
// can be timed one by one. Then each run times the product's whole path,
// dayend.Runner.Run with the bill imported (claim, keep the bill, parse,
// load, match, settle, store), and that is what is held against the join.
//
// `posserver reconbench` is the command line front end; `make
// bench-reconcile` runs it (RECON_N=1000000 for the issue's size).
package reconbench
