//! Postgres: the only module that knows the tables. Timers are the truth; breaches and
//! dead letters are the facts operators report on; calendar years loaded at run time live
//! here too so every replica sees them. One file per table or use: [`insert`] (new
//! timers), [`timers`], [`deliveries`] (outcomes in batches), [`dead_letters`],
//! [`breaches`], [`calendars`]; this file holds the timer row every one of them shares.

mod breaches;
mod calendars;
mod dead_letters;
mod deliveries;
mod insert;
mod timers;

use chrono::{DateTime, Utc};
use uuid::Uuid;

pub use breaches::{BreachFilter, BreachRow, list_breaches};
pub use calendars::{calendar_years, upsert_calendar_year};
pub use dead_letters::{
    DeadLetterRow, Parking, dead_letter, list_dead_letters, lock_dead_letter, mark_replayed,
};
pub use deliveries::{
    Expired, Failed, Reminded, complete_expiries, complete_reminders, record_failures,
};
pub use insert::{Scheduled, insert_batch};
pub use timers::{Cursor, TimerFilter, get, list, load, lock, overdue, scan_scheduled, update};

/// Every column of a timer.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TimerRow {
    pub id: Uuid,
    pub owner: String,
    pub subject: String,
    pub kind: String,
    pub request_id: Option<String>,
    pub state: String,
    pub trigger: Vec<u8>,
    pub reminder_specs: Vec<u8>,
    pub reminder_at: sqlx::types::Json<Vec<i64>>,
    pub reminders_done: i32,
    pub start_time: DateTime<Utc>,
    pub due_time: DateTime<Utc>,
    pub clock: String,
    pub calendar: Option<String>,
    pub remaining_ms: Option<i64>,
    pub payload: Vec<u8>,
    pub labels: sqlx::types::Json<std::collections::BTreeMap<String, String>>,
    pub generation: i32,
    pub next_point: Option<i32>,
    pub next_fire_at: Option<DateTime<Utc>>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub fired_time: Option<DateTime<Utc>>,
    pub reschedule_count: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, owner, subject, kind, request_id, state, trigger, reminder_specs, reminder_at, \
     reminders_done, start_time, due_time, clock, calendar, remaining_ms, payload, labels, generation, \
     next_point, next_fire_at, attempts, last_error, fired_time, reschedule_count, created_at, updated_at";

impl TimerRow {
    /// Reminder instants as timestamps.
    pub fn reminder_instants(&self) -> Vec<DateTime<Utc>> {
        self.reminder_at
            .0
            .iter()
            .map(|ms| DateTime::from_timestamp_millis(*ms).unwrap_or_default())
            .collect()
    }
}
