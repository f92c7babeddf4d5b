# multipos: the two commands for users are `make demo` and `make test`.
GO          ?= go
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOCYCLO     := github.com/fzipp/gocyclo/cmd/gocyclo@v0.6.0
# Debian packages the build needs: the PC/SC client library's and libusb's
# headers (the chip reader and USB printer drivers are cgo).
BUILD_DEBS  := libpcsclite-dev libusb-1.0-0-dev pkg-config
# Debian packages the tests use: tmux drives the built app like a person,
# zbar-tools decodes the QR codes the app draws, pcscd with vpcd is the
# smart-card service the virtual EMV card is inserted into, in a namespace of
# its own (unshare from util-linux, ip from iproute2), umockdev stands in
# for the USB bus the printer tests enumerate and write to.
TEST_DEBS   := tmux zbar-tools pcscd vsmartcard-vpcd libccid util-linux iproute2 umockdev

# The version pos and posserver print with --version ("" when this is not a
# git checkout: they then print the module's).
VERSION     ?= $(shell git describe --always --dirty 2>/dev/null)

.PHONY: all build demo test vet fmt-check fuzz lint bench bench-reconcile campaign clean postgres-stop

all: build

build:
	@scripts/need-go
	@scripts/need-apt $(BUILD_DEBS)
	@mkdir -p bin
	$(GO) build -ldflags "-X github.com/multipos/multipos/cmd/internal/cmdline.version=$(VERSION)" -o bin/ ./cmd/...

## demo: build and start the cashier app in training mode (no hardware, no accounts)
demo: build
	./bin/pos --demo

## test: install what the tests need, start a private PostgreSQL, then vet,
## race-test (every store test on SQLite and PostgreSQL) and briefly fuzz
test:
	@scripts/need-go
	@scripts/need-apt $(BUILD_DEBS) $(TEST_DEBS)
	@$(MAKE) --no-print-directory fmt-check vet
	@scripts/need-postgres >/dev/null
	MULTIPOS_TEST_PG="$$(scripts/need-postgres)" $(GO) test -race -count=1 -timeout 15m ./...
	@$(MAKE) --no-print-directory fuzz

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

## fuzz: run each fuzz target for a number of inputs (a few seconds each):
## counts, not durations, because Go 1.26's fuzz coordinator can report a
## spurious "context deadline exceeded" when a -fuzztime duration ends
## (golang/go#75804, fixed in Go 1.27)
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzLoadTerminal$$' -fuzztime 50000x ./config
	$(GO) test -run '^$$' -fuzz '^FuzzNotify$$' -fuzztime 40000x ./server/connector/alipay
	$(GO) test -run '^$$' -fuzz '^FuzzNotify$$' -fuzztime 3000x ./server/connector/wechat
	$(GO) test -run '^$$' -fuzz '^FuzzParseBill$$' -fuzztime 20000x ./server/connector/alipay
	$(GO) test -run '^$$' -fuzz '^FuzzParseTradeBill$$' -fuzztime 20000x ./server/connector/wechat
	$(GO) test -run '^$$' -fuzz '^FuzzParseSettlementFile$$' -fuzztime 20000x ./server/connector/bank
	$(GO) test -run '^$$' -fuzz '^FuzzClassify$$' -fuzztime 150000x ./paycode
	$(GO) test -run '^$$' -fuzz '^FuzzDetector$$' -fuzztime 300000x ./devices/wedge
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 250000x ./devices/magstripe
	$(GO) test -run '^$$' -fuzz '^FuzzDetector$$' -fuzztime 250000x ./devices/magstripe
	$(GO) test -run '^$$' -fuzz '^FuzzUnpack$$' -fuzztime 80000x ./server/connector/bank
	$(GO) test -run '^$$' -fuzz '^FuzzTLV$$' -fuzztime 80000x ./cards/emv
	$(GO) test -run '^$$' -fuzz '^FuzzAFL$$' -fuzztime 200000x ./cards/emv
	$(GO) test -run '^$$' -fuzz '^FuzzTrack2$$' -fuzztime 200000x ./cards/emv
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime 100000x ./receipts/escpos

lint: fmt-check
	@scripts/need-go
	@scripts/need-apt $(BUILD_DEBS)
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	@# size rules (tests aside): functions at most 80 lines, files at most
	@# 600, cyclomatic complexity at most 25
	$(GO) run ./internal/codesize .
	$(GO) run $(GOCYCLO) -over 25 -ignore '_test\.go$$' .

## bench: keystroke-to-frame, PIN-Confirm-to-approval and
## Confirm-to-merchant-copy (TCP printer) benchmarks, card inserted to PAN
## known through pcscd, receipt rendering and print-queue writes, pos --demo start-up time, and the
## posserver load test (N = 1, 100, 1000 terminals on SQLite and PostgreSQL,
## next to pgbench TPC-B on the same machine), written to bench.md
bench: build
	@scripts/need-apt $(TEST_DEBS)
	$(GO) test -run '^$$' -bench . -benchmem ./tui
	$(GO) test -run '^$$' -bench . -benchtime 20x ./devices/pcsc
	$(GO) test -run '^$$' -bench . -benchmem ./receipts ./receipts/spool
	./bin/posbench startup -n 10 -bin bin/pos
	./bin/posbench wallets -n 1000
	./bin/posserver loadtest -pg "$$(scripts/need-postgres)" -terminals 1,100,1000 -duration 10s -out bench.md
	@$(MAKE) --no-print-directory bench-reconcile

## bench-reconcile: a day's Alipay bill (GBK zip) of RECON_N lines against
## RECON_N journal orders, parsed, matched and stored on SQLite and
## PostgreSQL, RECON_RUNS times, next to a plain SQL join of the same rows
## (the anchor), written to bench-reconcile.md. The default is CI-sized;
## the issue's figures are RECON_N=1000000 (about 5 minutes with setup).
RECON_N    ?= 20000
RECON_RUNS ?= 3
bench-reconcile: build
	./bin/posserver reconbench --pg "$$(scripts/need-postgres)" --lines $(RECON_N) --runs $(RECON_RUNS) -out bench-reconcile.md

## campaign: the fault campaign (issue 11): the sandboxes, posserver and
## simulated terminals as processes of their own, faults at seeded moments,
## every invariant checked against the journal and the channels' books.
## RUNS=N (default 80, about 5 minutes), SEED=S (replays the run of that
## seed), ENGINE=sqlite (one posserver) or postgres (two on one database)
RUNS   ?=
SEED   ?=
ENGINE ?= sqlite
campaign: build
	@pg=""; if [ "$(ENGINE)" = postgres ]; then pg="-pg $$(scripts/need-postgres)"; fi; \
	./bin/poscampaign -engine $(ENGINE) $$pg $(if $(RUNS),-runs $(RUNS)) $(if $(SEED),-seed $(SEED))

## postgres-stop: stop the private PostgreSQL that test and bench start
postgres-stop:
	scripts/need-postgres stop

clean:
	rm -rf bin
