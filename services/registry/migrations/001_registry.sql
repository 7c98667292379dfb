CREATE TABLE registry.models (
  name         text        PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
  -- Version numbers are never reused, even after a delete.
  last_version bigint      NOT NULL DEFAULT 0,
  created_at   timestamptz NOT NULL DEFAULT now()
);

-- File contents, stored once per distinct sha256.
CREATE TABLE registry.blobs (
  sha256     text        PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  size_bytes bigint      NOT NULL CHECK (size_bytes >= 0),
  data       bytea       NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
-- Weights barely compress: skip pglz's attempt and keep the bytes
-- uncompressed out of line, which also makes substring reads cheap.
ALTER TABLE registry.blobs ALTER COLUMN data SET STORAGE EXTERNAL;

CREATE TABLE registry.versions (
  model           text        NOT NULL REFERENCES registry.models (name),
  version         bigint      NOT NULL CHECK (version >= 1),
  manifest_json   text        NOT NULL,
  manifest_sha256 text        NOT NULL CHECK (manifest_sha256 ~ '^[0-9a-f]{64}$'),
  size_bytes      bigint      NOT NULL,
  metrics         jsonb       NOT NULL DEFAULT '{}',
  lineage         jsonb       NOT NULL DEFAULT '{}',
  weight_encoding text        NOT NULL CHECK (weight_encoding IN ('float32', 'float16', 'uint8')),
  classes         text[]      NOT NULL,
  description     text        NOT NULL DEFAULT '',
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model, version)
);

CREATE TABLE registry.version_files (
  model   text   NOT NULL,
  version bigint NOT NULL,
  path    text   NOT NULL,
  sha256  text   NOT NULL REFERENCES registry.blobs (sha256),
  PRIMARY KEY (model, version, path),
  FOREIGN KEY (model, version) REFERENCES registry.versions (model, version) ON DELETE CASCADE
);
CREATE INDEX version_files_sha256 ON registry.version_files (sha256);

-- The foreign key (RESTRICT) is what refuses deleting a version an alias
-- points at.
CREATE TABLE registry.aliases (
  model      text        NOT NULL,
  name       text        NOT NULL CHECK (name ~ '^[a-z][a-z0-9_-]{0,31}$'),
  version    bigint      NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model, name),
  FOREIGN KEY (model, version) REFERENCES registry.versions (model, version) ON DELETE RESTRICT
);
