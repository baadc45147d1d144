-- +goose Up
-- Tables are named unqualified: the migration runs inside the live schema,
-- or inside the shadow schema a rebuild fills.

-- Listings show rows in the order their events were projected, which is
-- the order of the log: seq columns keep it, and a rebuild reproduces it.

-- Accounts with their sign-in state (AuthInfo).
CREATE TABLE users (
    id                    text        PRIMARY KEY,
    name                  text        NOT NULL,
    email                 text        NOT NULL,
    active                boolean     NOT NULL,
    last_login            timestamptz,
    failed_login_attempts integer     NOT NULL DEFAULT 0,
    locked_until          timestamptz,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    seq                   bigserial   UNIQUE
);

CREATE TABLE roles (
    id         text        PRIMARY KEY,
    name       text        NOT NULL,
    created_at timestamptz NOT NULL,
    seq        bigserial   UNIQUE
);

-- Roles held by users. The projector removes the rows of deleted roles and
-- users.
CREATE TABLE user_roles (
    user_id    text        NOT NULL,
    role_id    text        NOT NULL,
    granted_at timestamptz NOT NULL,
    seq        bigserial,
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX user_roles_by_role ON user_roles (role_id);

CREATE TABLE modules (
    id         text        PRIMARY KEY,
    name       text        NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    seq        bigserial   UNIQUE
);

CREATE TABLE module_roles (
    module_id text NOT NULL,
    role_id   text NOT NULL,
    seq       bigserial,
    PRIMARY KEY (module_id, role_id)
);
CREATE INDEX module_roles_by_role ON module_roles (role_id);

CREATE TABLE communities (
    id         text        PRIMARY KEY,
    name       text        NOT NULL,
    logo       text        NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    seq        bigserial   UNIQUE
);

CREATE TABLE community_members (
    community_id text        NOT NULL,
    user_id      text        NOT NULL,
    added_at     timestamptz NOT NULL,
    seq          bigserial,
    PRIMARY KEY (community_id, user_id)
);
CREATE INDEX community_members_by_user ON community_members (user_id);

CREATE TABLE join_requests (
    id           text        PRIMARY KEY,
    community_id text        NOT NULL,
    user_id      text        NOT NULL,
    message      text,
    status       text        NOT NULL,
    created_at   timestamptz NOT NULL,
    decided_at   timestamptz,
    seq          bigserial
);
CREATE INDEX join_requests_by_community ON join_requests (community_id, seq);
CREATE INDEX join_requests_by_user ON join_requests (user_id);

-- +goose Down
DROP TABLE users, roles, user_roles, modules, module_roles, communities, community_members, join_requests;
