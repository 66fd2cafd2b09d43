-- resources_type_updated (res_type, last_updated) is a prefix of
-- resources_type_updated_id (res_type, last_updated, res_id), which serves
-- every query the shorter one did; each write paid for both.
DROP INDEX IF EXISTS resources_type_updated;
