-- +goose Up
CREATE SCHEMA IF NOT EXISTS annals_kafka_relay;

-- One row per relay name: the global position up to which Kafka has
-- acknowledged every event. Positions are the log's commit/prepare pair.
CREATE TABLE annals_kafka_relay.checkpoints (
    name             text        PRIMARY KEY,
    position_commit  bigint      NOT NULL CHECK (position_commit >= 0),
    position_prepare bigint      NOT NULL CHECK (position_prepare >= 0),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE annals_kafka_relay.checkpoints;
DROP SCHEMA annals_kafka_relay;
