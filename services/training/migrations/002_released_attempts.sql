-- Attempts ended by a worker giving its lease back on purpose (shutting
-- down): they do not count against max_attempts.
ALTER TABLE training.jobs ADD COLUMN released_attempts integer NOT NULL DEFAULT 0;
