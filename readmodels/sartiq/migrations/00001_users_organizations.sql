-- +goose Up
-- Tables are named unqualified: the migration runs inside the live schema,
-- or inside the shadow schema a rebuild fills.

-- Rows are written only by the sartiq projectors. Deleted users and
-- organizations are removed, so every list shows live rows only.
CREATE TABLE users (
    id               uuid        PRIMARY KEY,
    email            text        NOT NULL,
    full_name        text,
    is_active        boolean     NOT NULL,
    is_superuser     boolean     NOT NULL,
    rework_available integer     NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
CREATE INDEX users_listing ON users (created_at, id);

CREATE TABLE organizations (
    id               uuid        PRIMARY KEY,
    name             text        NOT NULL,
    avatar_image_url text        NOT NULL,
    description      text,
    rework_available integer     NOT NULL,
    owner_id         uuid        NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
CREATE INDEX organizations_listing ON organizations (created_at, id);

-- Memberships go with their organization. user_id has no foreign key: users
-- and organizations are projected independently, so a membership may name a
-- user whose row is gone (deleted); queries join users to hide those.
CREATE TABLE organization_members (
    organization_id uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         uuid        NOT NULL,
    joined_at       timestamptz NOT NULL,
    PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX organization_members_by_user ON organization_members (user_id);

-- +goose Down
DROP TABLE organization_members, organizations, users;
