//! The suite's cross-service tests, one binary: every service starts and answers
//! (`suite_starts`), and a command written to one service's outbox reaches another
//! (`outbox_commands`).

mod outbox_commands;
mod suite_starts;
