// Package spool is the station's durable print queue.
//
// A receipt is the cashier's and the customer's only paper proof of a payment
// that has already happened at the bank or the wallet, so losing one to a
// jammed printer, an empty paper roll or an app restart is not acceptable.
// Every receipt copy is therefore written to disk, and synced, before it is
// sent to the printer, and it stays queued until the printer reports it
// printed whole. A restart finds the queue as it was, in the same order and
// with the same attempt counts, and the print worker carries on.
//
// Printed (and given-up) receipts are kept as a bounded history, so the
// cashier can reprint (重打印) the last receipt, or one found by its trace
// number (凭证号), without asking the server.
//
// Layout on disk, one JSON file per job, named after the job ID:
//
//	dir/queue/    jobs waiting for the printer
//	dir/history/  printed or dropped jobs, the newest Options.Keep of them
//	dir/bad/      files Open could not read, set aside for a person to look at
//
// Every change is made by writing a temporary file, syncing it, renaming it
// into place and syncing the directory, so a crash leaves either the old
// file or the new one, never half of one.
package spool
