-- Posts are immutable; content_hash (sha256 of category, year and body)
-- makes a re-import of the same post a no-op.
CREATE TABLE data.posts (
  id           bigserial PRIMARY KEY,
  content_hash text        NOT NULL UNIQUE CHECK (content_hash ~ '^[0-9a-f]{64}$'),
  category     text        NOT NULL CHECK (length(category) BETWEEN 1 AND 128),
  year         integer     NOT NULL CHECK (year BETWEEN 1 AND 9999),
  body         text        NOT NULL CHECK (length(body) > 0),
  source       text        NOT NULL DEFAULT '',
  imported_at  timestamptz NOT NULL DEFAULT now()
);

-- Counts and dataset queries filter by category and year; keyset pages by id.
CREATE INDEX posts_category_year_id ON data.posts (category, year, id);
