//! The suite's cross-service tests, one binary: who may call what on every port
//! (`access`), every service starts and answers (`suite_starts`), and a command written to one service's outbox reaches another
//! (`outbox_commands`).

mod access;
mod outbox_commands;
mod suite_starts;
