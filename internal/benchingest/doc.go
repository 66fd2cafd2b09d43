// Package benchingest holds `make bench-ingest`: write throughput through
// the full HTTP handler, in-process, on PostgreSQL (fsync on) and on the
// embedded SQLite store (synchronous=FULL). Its benchmarks load 100-entry
// transaction Bundles of generated migrants from 8 concurrent clients,
// single POSTs from 32 concurrent clients, and the 100 Synthea Bundles as
// transactions, and report resources/s and the process's peak RSS. They skip
// unless MEKONG_BENCH_INGEST=1.
package benchingest
