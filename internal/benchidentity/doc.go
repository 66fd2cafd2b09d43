// Package benchidentity holds stream identity's part of `make bench-match`
// (issue 11's targets): Patient/$match latency over 100,000 generated
// patients on PostgreSQL (p95 ≤ 50 ms), and ingest throughput with identity
// linking on against off (on keeps ≥ 70%): 100-entry transaction Bundles
// from 8 clients and a bulk import, each timed until every Patient is
// linked. Its tests skip unless MEKONG_BENCH_IDENTITY=1.
package benchidentity
