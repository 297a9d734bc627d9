-- The Responses API's stored responses, per end user. body_enc: AES-256-GCM under
-- the master key, bound to the row id (response:{id}:body): the Response object,
-- this request's input items and the conversation up to and including the output
-- (what previous_response_id continues). Purged after the retention setting.
CREATE TABLE responses (
    id TEXT PRIMARY KEY NOT NULL,
    platform_id UUID NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    end_user_id UUID NOT NULL REFERENCES end_users(id) ON DELETE CASCADE,
    body_enc BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX responses_end_user ON responses (end_user_id);
CREATE INDEX responses_created ON responses (created_at);
