-- +goose Up
CREATE SCHEMA IF NOT EXISTS annals_projections;

-- One row per projector version: a new version of a projector is rebuilt
-- from the start of the log under its own checkpoint while the old one keeps
-- its own. Positions are the log's commit/prepare pair.
CREATE TABLE annals_projections.checkpoints (
    name             text        NOT NULL,
    version          integer     NOT NULL,
    position_commit  bigint      NOT NULL DEFAULT 0 CHECK (position_commit >= 0),
    position_prepare bigint      NOT NULL DEFAULT 0 CHECK (position_prepare >= 0),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, version)
);

-- +goose Down
DROP TABLE annals_projections.checkpoints;
DROP SCHEMA annals_projections;
