-- Chat sessions with FAQ bots, as in the SQLite store: session state, transcript, feedback, and the
-- questions bots could not answer (normalised, counted), for `GET /v1/bots/{bot}/stats`.

CREATE TABLE chat_sessions (
    id          TEXT PRIMARY KEY,
    bot         TEXT NOT NULL,
    state       TEXT NOT NULL,            -- open | handed_off | closed
    questions   BIGINT NOT NULL,
    answered    BIGINT NOT NULL,
    version     BIGINT NOT NULL,         -- turns saved; a turn from an older state is refused
    session     TEXT NOT NULL,            -- JSON bot::Session
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX chat_sessions_bot ON chat_sessions (bot, state);

CREATE TABLE chat_messages (
    session_id  TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    author      TEXT NOT NULL,            -- customer | bot
    text        TEXT NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    answer_id   TEXT,
    score       DOUBLE PRECISION,
    feedback    TEXT,                     -- yes | no | person
    handoff     BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (session_id, seq)
);

CREATE TABLE chat_feedback (
    session_id  TEXT NOT NULL,
    seq         BIGINT NOT NULL,         -- the customer's message that gave it
    bot         TEXT NOT NULL,
    answer_id   TEXT,                     -- the entry rated (none: a person asked for first)
    value       TEXT NOT NULL,            -- yes | no | person
    at          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (session_id, seq)
);
CREATE INDEX chat_feedback_bot ON chat_feedback (bot, value);

CREATE TABLE chat_unanswered (
    bot         TEXT NOT NULL,
    question    TEXT NOT NULL,            -- normalised text
    count       BIGINT NOT NULL,
    last_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (bot, question)
);
