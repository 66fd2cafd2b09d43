// Package mapping is what the three source mappers (iom, th43, dhis2) share:
// the subset of FHIR R4 they write and read back, Mekong's identifier and
// code systems, the table of result kinds, the Builder that applies the
// matching rule and writes idempotent transaction Bundles, the report of
// rejected rows and untranslated codes, and Records, the input of every
// encoder.
package mapping
