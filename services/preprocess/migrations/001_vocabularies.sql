-- Vocabularies are immutable and content-addressed: building one twice from
-- the same posts and options yields the same row.
CREATE TABLE preprocess.vocabularies (
  id           text        PRIMARY KEY,
  content_hash text        NOT NULL UNIQUE CHECK (content_hash ~ '^[0-9a-f]{64}$'),
  spec_version text        NOT NULL,
  dataset      jsonb       NOT NULL,
  options      jsonb       NOT NULL,
  size         integer     NOT NULL CHECK (size >= 2),
  post_count   bigint      NOT NULL CHECK (post_count >= 0),
  -- Words in id order from id 2, separated by '\n' (words hold no whitespace).
  words        text        NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
