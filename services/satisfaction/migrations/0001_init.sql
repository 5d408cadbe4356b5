-- Schema of `satisfaction`. Tables are unqualified: the pool's search_path is the service's
-- schema (DATABASE_SCHEMA), so tests can run each in a schema of its own.
-- The kit creates outbox, inbox and idempotency itself (kit::db).
CREATE TABLE IF NOT EXISTS service_meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
INSERT INTO service_meta (key, value) VALUES ('service', 'satisfaction') ON CONFLICT DO NOTHING;
