-- Each token row carries its resource's primary date span (Observation and
-- Immunization "date", Patient "birthdate"): the earliest lo and latest hi.
-- A search for a code and a date range walks the code's rows in res_id order
-- and skips, inside the index, rows whose span cannot satisfy the date; the
-- exact date check still follows. Rows without a date span the whole range.
ALTER TABLE search_token ADD COLUMN dlo BIGINT NOT NULL DEFAULT -9223372036854775808;
ALTER TABLE search_token ADD COLUMN dhi BIGINT NOT NULL DEFAULT 9223372036854775807;
DROP INDEX search_token_lookup;
CREATE INDEX search_token_lookup ON search_token (res_type, param, code, system, res_id) INCLUDE (dlo, dhi);
