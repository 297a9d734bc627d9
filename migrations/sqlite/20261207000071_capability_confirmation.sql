-- A paid run quoted above confirm_above_micros asks the end user first (a form
-- elicitation on clients that can show one); confirm_fallback says what a run
-- above it does on a client that cannot ask: 'run' anyway, or 'refuse'.
ALTER TABLE capability_settings ADD COLUMN confirm_above_micros BIGINT;
ALTER TABLE capability_settings ADD COLUMN confirm_fallback TEXT NOT NULL DEFAULT 'refuse'
    CHECK (confirm_fallback IN ('run', 'refuse'));
