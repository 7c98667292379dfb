CREATE TABLE training.jobs (
  id           bigserial   PRIMARY KEY,
  model        text        NOT NULL,
  -- kiln.v1.JobSpec in protobuf JSON.
  spec         jsonb       NOT NULL,
  state        text        NOT NULL
               CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  world_size   integer     NOT NULL CHECK (world_size BETWEEN 1 AND 64),
  attempt      integer     NOT NULL DEFAULT 0,
  max_attempts integer     NOT NULL CHECK (max_attempts >= 1),
  epochs_done  integer     NOT NULL DEFAULT 0,
  -- kiln.v1.EpochMetrics and kiln.v1.JobResult in protobuf JSON.
  last_epoch   jsonb,
  result       jsonb,
  error        text        NOT NULL DEFAULT '',
  created_at   timestamptz NOT NULL DEFAULT now(),
  started_at   timestamptz,
  finished_at  timestamptz
);
CREATE INDEX jobs_state_id ON training.jobs (state, id);
CREATE INDEX jobs_model_id ON training.jobs (model, id);

CREATE TABLE training.workers (
  id            text        PRIMARY KEY,
  name          text        NOT NULL UNIQUE,
  host          text        NOT NULL,
  slots         integer     NOT NULL CHECK (slots BETWEEN 1 AND 64),
  description   text        NOT NULL DEFAULT '',
  registered_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at  timestamptz NOT NULL DEFAULT now()
);

-- A worker slot waiting in LeaseJob. A job of world size N is assigned to N
-- waiting slots at once (a gang); the slot's caller then picks its lease up.
-- Kept in the database so that several training replicas share one queue.
CREATE TABLE training.slot_requests (
  id         bigserial   PRIMARY KEY,
  worker_id  text        NOT NULL REFERENCES training.workers (id) ON DELETE CASCADE,
  expires_at timestamptz NOT NULL,
  lease_id   text
);

-- One row per rank of one attempt of a job.
CREATE TABLE training.leases (
  id          text        PRIMARY KEY,
  job_id      bigint      NOT NULL REFERENCES training.jobs (id) ON DELETE CASCADE,
  attempt     integer     NOT NULL,
  rank        integer     NOT NULL,
  worker_id   text        NOT NULL REFERENCES training.workers (id) ON DELETE CASCADE,
  state       text        NOT NULL
              CHECK (state IN ('active', 'completed', 'failed', 'lost', 'cancelled')),
  expires_at  timestamptz NOT NULL,
  -- rank 0's TCPStore host:port, set through Rendezvous.
  rendezvous  text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  ended_at    timestamptz,
  UNIQUE (job_id, attempt, rank)
);
CREATE INDEX leases_active ON training.leases (state, expires_at) WHERE state = 'active';

CREATE TABLE training.events (
  job_id   bigint      NOT NULL REFERENCES training.jobs (id) ON DELETE CASCADE,
  sequence bigint      NOT NULL,
  time     timestamptz NOT NULL DEFAULT now(),
  attempt  integer     NOT NULL DEFAULT 0,
  -- kiln.v1.JobEvent in protobuf JSON.
  event    jsonb       NOT NULL,
  PRIMARY KEY (job_id, sequence)
);

CREATE TABLE training.checkpoints (
  job_id     bigint      NOT NULL REFERENCES training.jobs (id) ON DELETE CASCADE,
  epoch      integer     NOT NULL CHECK (epoch >= 1),
  sha256     text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  size_bytes bigint      NOT NULL,
  data       bytea       NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (job_id, epoch)
);
