-- +goose Up
-- Tables are named unqualified: the migration runs inside the live schema,
-- or inside the shadow schema a rebuild fills.

-- The last state of each stream the log folds, without its secrets: the
-- snapshot after an event is one fold of it away.
CREATE TABLE streams (
    stream  text   PRIMARY KEY,
    version bigint NOT NULL,
    state   jsonb
);

-- One entry per command: its id is the command's id. Everything here is
-- derived from events and their metadata, so a rebuild reproduces it. What
-- entries show is json, not jsonb, to keep its fields in the order written.
CREATE TABLE actions (
    id                uuid        PRIMARY KEY,
    realm             text        NOT NULL,
    command           text        NOT NULL,
    -- command, undo or redo; an undo or redo refers to the action it takes
    -- back or applies again, and is about the same command (subject).
    nature            text        NOT NULL,
    refers_to         uuid,
    subject           text        NOT NULL,
    label             text        NOT NULL,
    state             text        NOT NULL,
    actor_id          text,
    actor_name        text,
    resource_kind     text,
    resource_id       text,
    parent_kind       text,
    parent_id         text,
    organization_id   text,
    organization_name text,
    sensitive         boolean     NOT NULL,
    restorable        boolean     NOT NULL,
    -- Another command changed one of its resources after it.
    superseded        boolean     NOT NULL,
    token             text,
    undone_by         uuid,
    snapshot_before   json,
    snapshot_after    json,
    changes           json,
    context           json,
    error             json,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    -- Where its first event is in the log, which orders actions; and
    -- where the undo that took it back is, which orders redos.
    position_commit   bigint      NOT NULL,
    position_prepare  bigint      NOT NULL,
    undone_commit     bigint,
    undone_prepare    bigint
);
CREATE INDEX actions_by_realm ON actions (realm, position_commit DESC, position_prepare DESC);
CREATE INDEX actions_by_actor ON actions (realm, actor_id, position_commit DESC, position_prepare DESC);
CREATE INDEX actions_by_resource ON actions (realm, resource_kind, resource_id);
CREATE INDEX actions_by_parent ON actions (realm, parent_kind, parent_id);
CREATE UNIQUE INDEX actions_by_token ON actions (token);

-- The streams an action appended to, from which version to which, and
-- what their views were before and after it.
CREATE TABLE parts (
    action_id        uuid    NOT NULL REFERENCES actions (id),
    stream           text    NOT NULL,
    kind             text    NOT NULL,
    stream_id        text    NOT NULL,
    role             text    NOT NULL,
    resource_kind    text,
    resource_id      text,
    facet            text,
    restorable       boolean NOT NULL,
    sensitive        boolean NOT NULL,
    -- The child entity every event of the part concerned, unless mixed.
    child_kind       text,
    child_id         text,
    mixed            boolean NOT NULL,
    version_before   bigint  NOT NULL,
    version_after    bigint  NOT NULL,
    view_before      json,
    view_after       json,
    position_commit  bigint  NOT NULL,
    position_prepare bigint  NOT NULL,
    PRIMARY KEY (action_id, stream)
);
CREATE INDEX parts_by_stream ON parts (stream);

-- +goose Down
DROP TABLE parts;
DROP TABLE actions;
DROP TABLE streams;
