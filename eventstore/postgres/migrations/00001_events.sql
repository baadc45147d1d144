-- +goose Up
CREATE SCHEMA annals_events;

-- One row per stream: its current version, the row that optimistic
-- concurrency checks and moves in every append.
CREATE TABLE annals_events.streams (
    stream_id text PRIMARY KEY,
    version   bigint NOT NULL
);

-- The log. An event's global position is (xid, seq): the id of the
-- transaction that appended it, then its sequence number. Readers only look
-- below the oldest transaction still running, so an event that commits late
-- can never land behind a position a reader has already passed.
CREATE TABLE annals_events.events (
    xid         xid8 NOT NULL,
    seq         bigserial,
    event_id    uuid NOT NULL,
    stream_id   text NOT NULL,
    version     bigint NOT NULL,
    type        text NOT NULL,
    data        bytea,
    metadata    bytea,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (xid, seq),
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, version),
    CONSTRAINT events_event_id_key UNIQUE (event_id)
);

-- existing tells what a batch of event ids already is: 'replayed' with the
-- original result when the ids are the stream's events right after the
-- expected version (-2 = any), 'duplicate' when any of them is stored
-- elsewhere, no row when none is stored.
-- +goose StatementBegin
CREATE FUNCTION annals_events.existing(p_stream text, p_expected bigint, p_ids uuid[],
    OUT result text, OUT stream_version bigint, OUT commit_position xid8, OUT prepare_position bigint)
RETURNS SETOF record
LANGUAGE plpgsql AS $$
DECLARE
    v_first bigint;
    v_matched int;
BEGIN
    SELECT e.version INTO v_first
    FROM annals_events.events e
    WHERE e.event_id = p_ids[1] AND e.stream_id = p_stream;

    IF v_first IS NOT NULL AND (p_expected = -2 OR p_expected = v_first - 1) THEN
        SELECT count(*) INTO v_matched
        FROM unnest(p_ids) WITH ORDINALITY AS g(id, ord)
        JOIN annals_events.events e
          ON e.event_id = g.id AND e.stream_id = p_stream AND e.version = v_first + g.ord - 1;
        IF v_matched = cardinality(p_ids) THEN
            RETURN QUERY
                SELECT 'replayed'::text, e.version, e.xid, e.seq
                FROM annals_events.events e
                WHERE e.stream_id = p_stream AND e.version = v_first + v_matched - 1;
            RETURN;
        END IF;
    END IF;

    IF EXISTS (SELECT FROM annals_events.events e WHERE e.event_id = ANY (p_ids)) THEN
        RETURN QUERY SELECT 'duplicate'::text, NULL::bigint, NULL::xid8, NULL::bigint;
    END IF;
END
$$;
-- +goose StatementEnd

-- append is the whole append in one call, hence one round trip: check the
-- expected version (-1 = no stream, -2 = any) and insert the events. result
-- is 'appended' or 'replayed' (stream_version and the position are those of
-- the last event), 'wrong_version' (stream_version is the actual version, -1
-- without stream) or 'duplicate'.
--
-- With p_notify, listeners are notified at commit. A transaction that
-- notifies holds a cluster-wide lock until its commit is flushed, which
-- serialises all such commits, so a caller that commits the append itself
-- rather notifies right after the commit.
-- +goose StatementBegin
CREATE FUNCTION annals_events.append(p_stream text, p_expected bigint,
    p_ids uuid[], p_types text[], p_data bytea[], p_metadata bytea[], p_notify boolean,
    OUT result text, OUT stream_version bigint, OUT commit_position xid8, OUT prepare_position bigint)
LANGUAGE plpgsql AS $$
DECLARE
    n int := cardinality(p_ids);
BEGIN
    -- Serialise the stream's appenders before this transaction takes an id:
    -- an advisory lock needs none, a row lock would. So the appender that
    -- writes version v+1 gets a larger transaction id than the one that
    -- wrote v, and the global order keeps every stream's own order.
    PERFORM pg_advisory_xact_lock(hashtextextended(p_stream, 0));

    IF p_expected = -2 THEN
        SELECT * INTO result, stream_version, commit_position, prepare_position
        FROM annals_events.existing(p_stream, p_expected, p_ids);
        IF FOUND THEN
            RETURN;
        END IF;
        INSERT INTO annals_events.streams AS s (stream_id, version) VALUES (p_stream, n - 1)
        ON CONFLICT (stream_id) DO UPDATE SET version = s.version + n
        RETURNING s.version INTO stream_version;
    ELSIF p_expected = -1 THEN
        INSERT INTO annals_events.streams (stream_id, version) VALUES (p_stream, n - 1)
        ON CONFLICT (stream_id) DO NOTHING
        RETURNING version INTO stream_version;
    ELSE
        UPDATE annals_events.streams s SET version = p_expected + n
        WHERE s.stream_id = p_stream AND s.version = p_expected
        RETURNING s.version INTO stream_version;
    END IF;

    IF stream_version IS NULL THEN
        SELECT * INTO result, stream_version, commit_position, prepare_position
        FROM annals_events.existing(p_stream, p_expected, p_ids);
        IF NOT FOUND THEN
            result := 'wrong_version';
            SELECT s.version INTO stream_version FROM annals_events.streams s WHERE s.stream_id = p_stream;
            stream_version := coalesce(stream_version, -1);
        END IF;
        RETURN;
    END IF;

    commit_position := pg_current_xact_id();
    WITH inserted AS (
        INSERT INTO annals_events.events (xid, event_id, stream_id, version, type, data, metadata)
        SELECT commit_position, g.id, p_stream, stream_version - n + g.ord, g.type, g.data, g.metadata
        FROM unnest(p_ids, p_types, p_data, p_metadata) WITH ORDINALITY AS g(id, type, data, metadata, ord)
        ORDER BY g.ord
        RETURNING seq)
    SELECT max(seq) INTO prepare_position FROM inserted;

    IF p_notify THEN
        PERFORM pg_notify('annals_events', '');
    END IF;
    result := 'appended';
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP SCHEMA annals_events CASCADE;
