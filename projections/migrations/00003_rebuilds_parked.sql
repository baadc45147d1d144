-- +goose Up
-- The read-model schema a projector writes, if any: the projectors of one
-- schema are rebuilt together, and a rebuild checks that it runs all of
-- them.
ALTER TABLE annals_projections.checkpoints ADD COLUMN schema_name text;

-- A blue-green rebuild in progress: the schema's projectors, at the
-- versions being built, replay the log from its start into the shadow
-- schema while the live one keeps serving. The position commits with each
-- batch of rows, so an interrupted rebuild resumes where it stopped. The
-- row goes in the transaction that swaps the shadow in.
CREATE TABLE annals_projections.rebuilds (
    schema_name      text        PRIMARY KEY,
    shadow           text        NOT NULL UNIQUE,
    -- projector name -> version being built
    versions         jsonb       NOT NULL,
    position_commit  bigint      NOT NULL DEFAULT 0 CHECK (position_commit >= 0),
    position_prepare bigint      NOT NULL DEFAULT 0 CHECK (position_prepare >= 0),
    -- events read from the log so far, over every run
    events           bigint      NOT NULL DEFAULT 0,
    -- the head of the log when the latest run began, to tell progress by
    head_commit      bigint      NOT NULL DEFAULT 0,
    head_prepare     bigint      NOT NULL DEFAULT 0,
    started_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Events a projector gave up on after failing on them repeatedly: it went
-- on without them. `annals projections retry` applies them again. Those a
-- rebuild parked (rebuilding) replace the live ones when it swaps in.
CREATE TABLE annals_projections.parked (
    name             text        NOT NULL,
    version          integer     NOT NULL,
    rebuilding       boolean     NOT NULL DEFAULT false,
    event_id         uuid        NOT NULL,
    stream           text        NOT NULL,
    stream_version   bigint      NOT NULL,
    position_commit  bigint      NOT NULL,
    position_prepare bigint      NOT NULL,
    event_type       text        NOT NULL,
    error            text        NOT NULL,
    attempts         integer     NOT NULL,
    parked_at        timestamptz NOT NULL DEFAULT now(),
    retried_at       timestamptz,
    PRIMARY KEY (name, version, rebuilding, event_id)
);

-- +goose Down
DROP TABLE annals_projections.parked;
DROP TABLE annals_projections.rebuilds;
ALTER TABLE annals_projections.checkpoints DROP COLUMN schema_name;
