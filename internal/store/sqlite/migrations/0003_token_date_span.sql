-- See PostgreSQL's 0003_token_date_span.sql. SQLite has no INCLUDE: the span
-- columns trail the key, which keeps the index covering.
ALTER TABLE search_token ADD COLUMN dlo INTEGER NOT NULL DEFAULT -9223372036854775808;
ALTER TABLE search_token ADD COLUMN dhi INTEGER NOT NULL DEFAULT 9223372036854775807;
DROP INDEX search_token_lookup;
CREATE INDEX search_token_lookup ON search_token (res_type, param, code, system, res_id, dlo, dhi);
