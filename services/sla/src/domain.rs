//! Pure timer rules: when a timer is due (absolute, after a duration, or after working days
//! on a business calendar), when its reminders fall, which event comes next, and how a
//! pause keeps the remaining time. No I/O, no protobuf, no SQL.

use calendar::BusinessCalendar;
use chrono::{DateTime, Duration, Utc};

/// How the due time is given.
#[derive(Clone, Debug, PartialEq)]
pub enum Spec {
    /// At an absolute instant.
    At(DateTime<Utc>),
    /// A wall-clock duration after the start.
    After(Duration),
    /// `days` working days after the start on `calendar` (PRC Civil Code art. 201/203).
    WorkingDays { days: u32, calendar: String },
}

/// When a reminder falls.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ReminderSpec {
    /// After this share of the time from start to due (0 < f < 1), e.g. 0.8.
    Fraction(f64),
    /// This long before the due time.
    Before(Duration),
}

/// How time is counted while a timer is paused and resumed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockKind {
    /// Wall time: a pause of 3 hours moves the deadline by 3 hours.
    Wall,
    /// Working time on the timer's calendar: weekends and holidays during the pause do not
    /// count, nor do they count after it.
    Working,
}

impl ClockKind {
    /// Inverse of [`ClockKind::as_str`] (anything else is wall time).
    pub fn from_db(s: &str) -> Self {
        if s == "working" {
            ClockKind::Working
        } else {
            ClockKind::Wall
        }
    }

    /// Database name.
    pub fn as_str(self) -> &'static str {
        match self {
            ClockKind::Wall => "wall",
            ClockKind::Working => "working",
        }
    }
}

impl Spec {
    /// The clock kind this spec implies.
    pub fn clock(&self) -> ClockKind {
        match self {
            Spec::WorkingDays { .. } => ClockKind::Working,
            _ => ClockKind::Wall,
        }
    }

    /// The due time from `start`, and the years the calendar had to assume weekends-only.
    pub fn due(
        &self,
        start: DateTime<Utc>,
        cal: Option<&BusinessCalendar>,
    ) -> (DateTime<Utc>, Vec<i32>) {
        match self {
            Spec::At(t) => (*t, Vec::new()),
            Spec::After(d) => (start + *d, Vec::new()),
            Spec::WorkingDays { days, .. } => {
                let cal = cal.expect("working-day specs are resolved with their calendar");
                let r = cal.add_working_days(start, *days);
                (r.value, r.fallback_years)
            }
        }
    }
}

/// The instant of each reminder for a clock running from `start` to `due`.
pub fn reminder_instants(
    start: DateTime<Utc>,
    due: DateTime<Utc>,
    reminders: &[ReminderSpec],
) -> Vec<DateTime<Utc>> {
    let span = due - start;
    reminders
        .iter()
        .map(|r| match r {
            ReminderSpec::Fraction(f) => {
                start + Duration::milliseconds((span.num_milliseconds() as f64 * f).round() as i64)
            }
            ReminderSpec::Before(d) => due - *d,
        })
        .collect()
}

/// The next event of a timer: a reminder (by index) or the expiry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Point {
    /// Reminder `i` of the timer's list.
    Reminder(u32),
    /// The deadline itself.
    Expiry,
}

impl Point {
    /// Database encoding: -1 for the expiry, else the reminder index.
    pub fn to_db(self) -> i32 {
        match self {
            Point::Reminder(i) => i as i32,
            Point::Expiry => -1,
        }
    }

    /// Inverse of [`Point::to_db`].
    pub fn from_db(v: i32) -> Self {
        if v < 0 {
            Point::Expiry
        } else {
            Point::Reminder(v as u32)
        }
    }
}

/// The earliest event still to come: the unfired reminder with the earliest instant
/// strictly before the due time (reminders at or after it are pointless), else the expiry.
pub fn next_point(
    reminder_at: &[DateTime<Utc>],
    done_mask: u32,
    due: DateTime<Utc>,
) -> (Point, DateTime<Utc>) {
    reminder_at
        .iter()
        .enumerate()
        .filter(|(i, at)| done_mask & (1 << i) == 0 && **at < due)
        .min_by_key(|(i, at)| (**at, *i))
        .map(|(i, at)| (Point::Reminder(i as u32), *at))
        .unwrap_or((Point::Expiry, due))
}

/// Reminders whose instant is already past at `now` count as done: rescheduling must not
/// send a burst of stale reminders.
pub fn mask_past(reminder_at: &[DateTime<Utc>], now: DateTime<Utc>) -> u32 {
    reminder_at
        .iter()
        .enumerate()
        .filter(|(_, at)| **at <= now)
        .fold(0, |m, (i, _)| m | (1 << i))
}

/// The time left when pausing at `now`: wall or working time until `due` (never negative).
pub fn remaining(
    clock: ClockKind,
    now: DateTime<Utc>,
    due: DateTime<Utc>,
    cal: Option<&BusinessCalendar>,
) -> Duration {
    if due <= now {
        return Duration::zero();
    }
    match (clock, cal) {
        (ClockKind::Working, Some(cal)) => cal.working_time_between(now, due).value,
        _ => due - now,
    }
}

/// The new due time when resuming at `now` with `remaining` left.
pub fn resumed_due(
    clock: ClockKind,
    now: DateTime<Utc>,
    remaining: Duration,
    cal: Option<&BusinessCalendar>,
) -> DateTime<Utc> {
    match (clock, cal) {
        (ClockKind::Working, Some(cal)) => cal.add_working_time(now, remaining).value,
        _ => now + remaining,
    }
}

/// The delivery id of an event: stable across retries and replays, distinct per
/// generation (reschedule / resume) so an owner can tell a new clock from a redelivery.
pub fn delivery_id(timer_id: &str, generation: i32, point: Point) -> String {
    use std::fmt::Write;
    // Sized up front: one of these is built for every timer scheduled.
    let mut id = String::with_capacity(timer_id.len() + 16);
    let _ = write!(id, "{timer_id}:{generation}:");
    match point {
        Point::Expiry => id.push('x'),
        Point::Reminder(i) => {
            let _ = write!(id, "r{i}");
        }
    }
    id
}

/// Parses a delivery id back into (timer id, generation, point).
pub fn parse_delivery_id(id: &str) -> Option<(String, i32, Point)> {
    let mut parts = id.rsplitn(3, ':');
    let tag = parts.next()?;
    let generation = parts.next()?.parse().ok()?;
    let timer = parts.next()?.to_string();
    let point = if tag == "x" {
        Point::Expiry
    } else {
        Point::Reminder(tag.strip_prefix('r')?.parse().ok()?)
    };
    Some((timer, generation, point))
}

/// Exponential backoff for a failed delivery: 200 ms doubling, capped at 60 s.
pub fn retry_backoff(attempt: u32) -> Duration {
    let ms = 200u64.saturating_mul(1 << attempt.min(12));
    Duration::milliseconds(ms.min(60_000) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn due_times() {
        let start = t("2026-02-13T09:00:00Z"); // Fri 13 Feb 17:00 Beijing
        assert_eq!(Spec::At(start).due(start, None).0, start);
        assert_eq!(
            Spec::After(Duration::hours(48)).due(start, None).0,
            t("2026-02-15T09:00:00Z")
        );
        let cal = BusinessCalendar::china_mainland();
        let (due, fallback) = Spec::WorkingDays {
            days: 3,
            calendar: "cn".into(),
        }
        .due(start, Some(&cal));
        // Sat 14 (make-up) , Tue 24, Wed 25 -> end of Wed 25 Feb Beijing.
        assert_eq!(due, t("2026-02-25T16:00:00Z"));
        assert!(fallback.is_empty());
    }

    #[test]
    fn reminders_fall_where_asked_and_in_time_order() {
        let start = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
        let due = start + Duration::hours(10);
        let at = reminder_instants(
            start,
            due,
            &[
                ReminderSpec::Fraction(0.8),
                ReminderSpec::Fraction(0.5),
                ReminderSpec::Before(Duration::hours(11)),
            ],
        );
        assert_eq!(at[0], start + Duration::hours(8));
        assert_eq!(at[1], start + Duration::hours(5));
        // A reminder before the start is past at once and masked by mask_past.
        assert_eq!(mask_past(&at, start), 0b100);
        // The 50% reminder comes first although it was listed second.
        assert_eq!(next_point(&at, 0b100, due), (Point::Reminder(1), at[1]));
        assert_eq!(next_point(&at, 0b110, due), (Point::Reminder(0), at[0]));
        assert_eq!(next_point(&at, 0b111, due), (Point::Expiry, due));
        // A reminder at or after the due time never fires.
        let late = [due, due + Duration::hours(1)];
        assert_eq!(next_point(&late, 0, due), (Point::Expiry, due));
    }

    #[test]
    fn pause_keeps_working_time_across_a_holiday() {
        let cal = BusinessCalendar::china_mainland();
        // Due end of Wed 25 Feb 2026 (Beijing); pause Fri 13 Feb 20:00 Beijing.
        let due = t("2026-02-25T16:00:00Z");
        let paused = t("2026-02-13T12:00:00Z");
        let left = remaining(ClockKind::Working, paused, due, Some(&cal));
        // 4 h of Friday + make-up Saturday 24 h + Tue 24 h + Wed 24 h.
        assert_eq!(left, Duration::hours(76));
        // Resume Mon 2 Mar 09:00 Beijing: 15 h of Monday, Tue 24 h, Wed 24 h, Thu 13 h.
        let resumed = resumed_due(
            ClockKind::Working,
            t("2026-03-02T01:00:00Z"),
            left,
            Some(&cal),
        );
        assert_eq!(resumed, t("2026-03-05T05:00:00Z"));
        // Wall clocks move by exactly the pause.
        let wall_left = remaining(ClockKind::Wall, paused, due, None);
        assert_eq!(
            resumed_due(
                ClockKind::Wall,
                paused + Duration::hours(5),
                wall_left,
                None
            ),
            due + Duration::hours(5)
        );
        assert_eq!(
            remaining(ClockKind::Wall, due + Duration::hours(1), due, None),
            Duration::zero()
        );
    }

    #[test]
    fn delivery_ids_round_trip() {
        let id = delivery_id("0191-abc", 3, Point::Reminder(2));
        assert_eq!(id, "0191-abc:3:r2");
        assert_eq!(
            parse_delivery_id(&id),
            Some(("0191-abc".into(), 3, Point::Reminder(2)))
        );
        assert_eq!(
            parse_delivery_id("u:0:x"),
            Some(("u".into(), 0, Point::Expiry))
        );
        assert_eq!(delivery_id("u", 0, Point::Expiry), "u:0:x");
        assert_eq!(parse_delivery_id("garbage"), None);
    }

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(retry_backoff(0), Duration::milliseconds(200));
        assert_eq!(retry_backoff(1), Duration::milliseconds(400));
        assert_eq!(retry_backoff(30), Duration::seconds(60));
    }
}
