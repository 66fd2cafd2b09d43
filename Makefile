# Mekong: `make run` serves the API on the embedded database; `make test` runs
# every test. Both do their own set-up on a fresh machine (Go modules, the
# official FHIR examples); PostgreSQL tests start a throwaway cluster.

GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X github.com/mekong-fhir/mekong/internal/cli.Version=$(VERSION)
BIN      ?= bin
# ADDR changes the listen address of `make run` (make run ADDR=127.0.0.1:9090); left empty,
# serve's own default applies: MEKONG_ADDR if set, else 127.0.0.1:8080.
ADDR     ?=

EXAMPLES_PKG    := hl7.fhir.r4.examples@4.0.1
EXAMPLES_TGZ    := .cache/npm/hl7.fhir.r4.examples-4.0.1.tgz
EXAMPLES_SHA256 := dce87f1b5b9341867033f7d1f544fa1b5232503f6d62813887ac6b8a8b6cb682
EXAMPLES_DIR    := .cache/r4-examples/package

IPS_PKG    := hl7.fhir.uv.ips@2.0.0
IPS_TGZ    := .cache/npm/hl7.fhir.uv.ips-2.0.0.tgz
IPS_SHA256 := 4a5cff17580f869140614ac51097d81540c63644d550ced8d4cd9b9bce7345c4
IPS_DIR    := .cache/ips/package

.PHONY: all build run test test-short bench bench-search bench-ingest bench-audit bench-crash bench-match vet fmt generate conformance-data ips-data clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/mekong ./cmd/mekong

## run: serve http://127.0.0.1:8080/fhir (ADDR=host:port or MEKONG_ADDR to change) on the embedded
## database in ./data, trusting a local development key (created once in ./data) and printing a token
## for curl; SMART Health Cards of the specification's example issuer are trusted (examples/cards:
## development only, its private keys are public) so the README can import one. internal/devserver starts the server for the README and client-library tests from this
## recipe (make -n run), so keep it one plain command line.
run: build
	$(BIN)/mekong serve --dev --log-format text --trusted-issuers examples/cards/trusted-issuers.json$(if $(ADDR), --addr $(ADDR))

## test: vet, then every test (PostgreSQL ones on a throwaway cluster)
test: conformance-data vet
	$(GO) test -count=1 -timeout 30m ./...

## test-short: the tests without the official-examples download
test-short: vet
	$(GO) test -count=1 -timeout 30m ./...

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

## bench: create, read and update on both stores, with durable PostgreSQL settings
bench:
	MEKONG_TEST_PG_DURABLE=1 $(GO) test -run '^$$' -bench 'Create|Read|Update' -benchtime 3s -count 3 ./internal/server/

## generate: regenerate the code derived from the official definitions (search parameters, FHIRPath type model)
generate: conformance-data
	$(GO) generate ./fhir/...

## bench-search: 100,000 generated patients (1.4M resources) in a throwaway PostgreSQL; latency of the
## common searches at concurrency 1 and 16; query plans (and SQLite's) into docs/search-plans.md
bench-search:
	MEKONG_BENCH_SEARCH=1 MEKONG_BENCH_DOCS=1 MEKONG_BENCH_PATIENTS=$${MEKONG_BENCH_PATIENTS:-100000} \
		$(GO) test -run TestSearchBenchmark -v -count=1 -timeout 90m ./internal/benchsearch/

## bench-ingest: write throughput (resources/s, peak RSS) on durable PostgreSQL and SQLite, each scenario
## in its own process: 100-entry transaction Bundles from 8 clients, single POSTs from 32 clients, the
## Synthea Bundles as transactions, and $import of 1,000,000 generated resources (internal/bulk; set
## MEKONG_BENCH_IMPORT_N and MEKONG_BENCH_IMPORT_COUNT for a shorter run)
INGEST_SCENARIOS ?= TransactionBundles:60x SinglePosts:2000x Synthea:1x
bench-ingest:
	@for s in $(INGEST_SCENARIOS); do for st in postgres sqlite; do \
		MEKONG_BENCH_INGEST=1 MEKONG_TEST_PG_DURABLE=1 $(GO) test -run '^$$' -bench "Benchmark$${s%%:*}/$$st" \
			-benchtime $${s##*:} -count 3 -timeout 60m ./internal/benchingest/ || exit 1; \
	done; done
	@for st in postgres sqlite; do \
		MEKONG_BENCH_INGEST=1 MEKONG_TEST_PG_DURABLE=1 MEKONG_BENCH_IMPORT_N=$${MEKONG_BENCH_IMPORT_N:-1000000} \
			$(GO) test -run '^$$' -bench "BenchmarkImport/$$st" -benchtime 1x -count $${MEKONG_BENCH_IMPORT_COUNT:-3} \
			-timeout 180m ./internal/bulk || exit 1; \
	done

## bench-audit: issue 15's audit targets over HTTP, with wrk against a real `mekong serve` on durable
## PostgreSQL and SQLite: read by id (32 connections, audited and --bench-no-audit; 1 connection),
## search of 20 Observations by patient, creates; medians of 3 runs of 10 s, with the load average of
## each run and the disk's fsync latency. Needs wrk (apt-get install wrk). Knobs: MEKONG_BENCH_STORES,
## MEKONG_BENCH_SCENARIOS, MEKONG_BENCH_DURATION, MEKONG_BENCH_RUNS, MEKONG_BENCH_POOLS (e.g. 8,16,32),
## MEKONG_BENCH_PROFILE=DIR (one more profiled run per scenario), MEKONG_BENCH_REPORT=FILE (the table),
## MEKONG_BIN_BEFORE=BIN (a binary of an earlier commit, run interleaved with this one for comparison)
bench-audit: build
	MEKONG_BENCH_AUDIT=1 MEKONG_TEST_PG_DURABLE=1 MEKONG_BIN=$(CURDIR)/bin/mekong \
		$(GO) test -run TestAuditBenchmark -v -count=1 -timeout 90m ./internal/benchaudit/

## bench-crash: the crash test of `make test` with 30 s of load before the SIGKILL (MEKONG_CRASH_LOAD)
bench-crash:
	MEKONG_CRASH_LOAD=$${MEKONG_CRASH_LOAD:-30s} $(GO) test -run TestCrashLosesNoAcknowledgedAudit -v -count=1 -timeout 30m ./internal/cli/

## bench-match: identity matching on the labelled evaluation set (internal/match/testdata/eval, read through the
## real decoders): candidates from the blocking keys, then Compare; precision and recall per grade on the tuning and
## held-out splits, and hard negatives (twins, siblings, common names) graded certain
bench-match:
	MEKONG_BENCH_MATCH=1 $(GO) test -run TestBenchMatch -v -count=1 ./internal/match/eval/
	@# Identity in the server (internal/benchidentity), each in its own process: Patient/$$match latency over 100,000
	@# generated patients on PostgreSQL (p50/p95/p99, one client then four), and ingest throughput with identity linking
	@# on and off on durable PostgreSQL (transaction Bundles from 8 clients, and a bulk import; medians of alternating runs,
	@# timed until every Patient is linked). MEKONG_BENCH_PATIENTS, MEKONG_BENCH_INGEST_N and MEKONG_BENCH_RUNS
	@# shorten it.
	MEKONG_BENCH_IDENTITY=1 MEKONG_BENCH_PATIENTS=$${MEKONG_BENCH_PATIENTS:-100000} \
		$(GO) test -run TestMatchLatency -v -count=1 -timeout 60m ./internal/benchidentity/
	MEKONG_BENCH_IDENTITY=1 MEKONG_TEST_PG_DURABLE=1 \
		$(GO) test -run TestIngestThroughput -v -count=1 -timeout 90m ./internal/benchidentity/

## conformance-data: official FHIR R4 examples (CC0), the IPS 2.0.0 package (CC0) and the fhirpath.js oracle
## into the git-ignored .cache/
conformance-data: $(EXAMPLES_DIR)/Patient-example.json ips-data
	bash fhir/fhirpath/testdata/install-oracle.sh

## ips-data: the International Patient Summary package (profiles, $summary definition, examples) that
## internal/ips tests our documents against
ips-data: $(IPS_DIR)/package.json

$(IPS_DIR)/package.json:
	mkdir -p .cache/npm .cache/ips
	cd .cache/npm && npm pack --silent $(IPS_PKG) >/dev/null
	echo "$(IPS_SHA256)  $(IPS_TGZ)" | sha256sum -c --quiet -
	tar -xzf $(IPS_TGZ) -C .cache/ips
	touch $@

$(EXAMPLES_DIR)/Patient-example.json:
	mkdir -p .cache/npm .cache/r4-examples
	cd .cache/npm && npm pack --silent $(EXAMPLES_PKG) >/dev/null
	echo "$(EXAMPLES_SHA256)  $(EXAMPLES_TGZ)" | sha256sum -c --quiet -
	tar -xzf $(EXAMPLES_TGZ) -C .cache/r4-examples
	touch $@

clean:
	rm -rf $(BIN)
