// Package benchsearch holds `make bench-search`: it loads a generated
// migrant data set (100,000 patients, about 1,000,000 Observations and
// 300,000 Immunizations by default) into a throwaway PostgreSQL, measures the
// common searches at concurrency 1 and 16, and writes their query plans, with
// the same plans on SQLite, to docs/search-plans.md.
package benchsearch
