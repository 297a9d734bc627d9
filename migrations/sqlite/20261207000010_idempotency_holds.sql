-- A capability run claims its Idempotency-Key in the transaction that takes its
-- hold, bound to that hold, with the answer to give if the work dies
-- (response_body while response_status is 0). When the sweeper releases the
-- hold, the key resolves to that answer instead of staying "in progress".
--
-- Keys are now scoped per end user and operation; rows stored under the old
-- scopes are left as they are: they expire 24 h after their request.
ALTER TABLE idempotency_keys ADD COLUMN hold_id BLOB;
CREATE INDEX idempotency_keys_hold ON idempotency_keys (hold_id) WHERE hold_id IS NOT NULL;
