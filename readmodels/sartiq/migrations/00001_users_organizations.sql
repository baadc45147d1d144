-- +goose Up
CREATE SCHEMA IF NOT EXISTS sartiq;

-- Rows are written only by the sartiq projectors. Deleted users and
-- organizations are removed, so every list shows live rows only.
CREATE TABLE sartiq.users (
    id               uuid        PRIMARY KEY,
    email            text        NOT NULL,
    full_name        text,
    is_active        boolean     NOT NULL,
    is_superuser     boolean     NOT NULL,
    rework_available integer     NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
CREATE INDEX users_listing ON sartiq.users (created_at, id);

CREATE TABLE sartiq.organizations (
    id               uuid        PRIMARY KEY,
    name             text        NOT NULL,
    avatar_image_url text        NOT NULL,
    description      text,
    rework_available integer     NOT NULL,
    owner_id         uuid        NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
CREATE INDEX organizations_listing ON sartiq.organizations (created_at, id);

-- Memberships go with their organization. user_id has no foreign key: users
-- and organizations are projected independently, so a membership may name a
-- user whose row is gone (deleted); queries join users to hide those.
CREATE TABLE sartiq.organization_members (
    organization_id uuid        NOT NULL REFERENCES sartiq.organizations (id) ON DELETE CASCADE,
    user_id         uuid        NOT NULL,
    joined_at       timestamptz NOT NULL,
    PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX organization_members_by_user ON sartiq.organization_members (user_id);

-- +goose Down
DROP SCHEMA sartiq CASCADE;
