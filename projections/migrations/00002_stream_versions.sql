-- +goose Up
-- For projectors fed in stream order rather than log order (from Kafka): the
-- last version of each stream a projector applied, written in the
-- transaction that applies the event. An event at or below its stream's
-- version was applied already and is skipped when delivered again. The
-- position is the applied event's, so that a projector switched back to the
-- log can tell which events beyond its checkpoint it applied.
CREATE TABLE annals_projections.stream_versions (
    name             text    NOT NULL,
    version          integer NOT NULL,
    stream           text    NOT NULL,
    stream_version   bigint  NOT NULL CHECK (stream_version >= 0),
    position_commit  bigint  NOT NULL CHECK (position_commit >= 0),
    position_prepare bigint  NOT NULL CHECK (position_prepare >= 0),
    PRIMARY KEY (name, version, stream),
    FOREIGN KEY (name, version) REFERENCES annals_projections.checkpoints ON DELETE CASCADE
);

-- +goose Down
DROP TABLE annals_projections.stream_versions;
