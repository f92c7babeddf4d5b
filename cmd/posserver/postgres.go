package main

// posserver keeps its journal in SQLite or PostgreSQL; the PostgreSQL
// driver is linked here, not by the store, so that the cashier app (whose
// demo runs a server on SQLite) does not carry it.
import _ "github.com/multipos/multipos/server/store/postgres"
