//! The SLA service's integration tests, one binary: a real owner, the service in-process,
//! real Postgres and Redis ([`harness`]). Tests that must own the process or the whole
//! Redis, or a quiet machine, have binaries of their own (`flushall.rs`,
//! `writer_thread.rs`, `committer_connection.rs`, `redis_linger.rs`; each says why in its
//! first line).

mod harness;

mod abandoned_batch;
mod lifecycle;
mod redis_hang;
mod replicas;
mod schedule;
