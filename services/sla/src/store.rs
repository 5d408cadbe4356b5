//! Postgres: the only file that knows the tables. Timers are the truth; breaches and dead
//! letters are the facts operators report on; calendar years loaded at run time live here
//! too so every replica sees them.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::pgcopy;

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

/// What scheduling one timer came to.
#[derive(Debug)]
pub enum Scheduled {
    /// Inserted.
    Created(TimerRow),
    /// Not inserted: this timer (same id: a retried request) or the live timer holding its
    /// key (owner, subject, kind) exists already.
    Existing(TimerRow),
    /// Not inserted: the caller chose an id that another owner's timer has.
    IdTaken(Uuid),
}

impl Scheduled {
    /// The timer, when this call inserted it.
    pub fn created(&self) -> Option<&TimerRow> {
        match self {
            Scheduled::Created(r) => Some(r),
            _ => None,
        }
    }
}

/// Inserts a group of new timers in one statement, which is its own transaction: one
/// round trip and one commit for the group (group commit). A timer whose id or live key
/// exists already is not inserted; the existing one is answered instead. With
/// `all_or_none`, a timer id held by another owner ([`Scheduled::IdTaken`]) writes
/// nothing at all; else the others are written.
///
/// Run it to its end, as [`crate::writer::Writer::spawn`] does even when the caller gives
/// up (a BatchScheduleTimers call is dropped when its deadline passes): sqlx cannot bring
/// back in step a connection whose COPY was dropped half way (its pool check then waits
/// forever or reads the COPY's late reply as its own).
pub async fn insert_batch(
    conn: &mut PgConnection,
    rows: Vec<TimerRow>,
    all_or_none: bool,
) -> Result<Vec<Scheduled>, sqlx::Error> {
    // The common case first: nothing collides, and a binary COPY is the cheapest write for
    // Postgres (a plain INSERT was a fifth cheaper than ON CONFLICT's speculative insertion,
    // and COPY cheaper again). A collision fails it whole (it is its own transaction, so
    // nothing is left behind) and the group goes the careful way, in one transaction again.
    match copy_in(conn, &rows).await {
        Ok(_) => Ok(rows.into_iter().map(Scheduled::Created).collect()),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            let mut tx = sqlx::Connection::begin(conn).await?;
            let out = resolve(&mut tx, rows).await?;
            if all_or_none && out.iter().any(|s| matches!(s, Scheduled::IdTaken(_))) {
                return Ok(out); // dropping `tx` rolls it back
            }
            tx.commit().await?;
            Ok(out)
        }
        Err(e) => Err(e),
    }
}

/// Inserts what does not collide and answers for each row.
async fn resolve(
    tx: &mut PgConnection,
    rows: Vec<TimerRow>,
) -> Result<Vec<Scheduled>, sqlx::Error> {
    let mut inserted: std::collections::HashSet<Uuid> =
        insert(&mut *tx, &rows).await?.into_iter().collect();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        // `remove`: of two copies of one timer in a group (a retry racing its first call)
        // only the first was inserted; the second is answered as existing.
        out.push(if inserted.remove(&r.id) {
            Scheduled::Created(r)
        } else {
            collided(tx, r).await?
        });
    }
    Ok(out)
}

/// The group's rows written with `COPY ... FROM STDIN (FORMAT binary)`: one statement and
/// one commit. Its columns are those of [`insert`]; the others keep their defaults.
async fn copy_in(conn: &mut PgConnection, rows: &[TimerRow]) -> Result<(), sqlx::Error> {
    const COPY: &str = "COPY timers (id, owner, subject, kind, request_id, state, trigger,
            reminder_specs, reminder_at, reminders_done, start_time, due_time, clock, calendar,
            payload, labels, next_point, next_fire_at, created_at, updated_at)
        FROM STDIN (FORMAT binary)";
    let mut w = pgcopy::Writer::new();
    for r in rows {
        w.row(20); // the 20 columns of COPY's list, in its order
        w.uuid(r.id);
        w.bytes(r.owner.as_bytes());
        w.bytes(r.subject.as_bytes());
        w.bytes(r.kind.as_bytes());
        w.opt_text(r.request_id.as_deref());
        w.bytes(b"scheduled");
        w.bytes(&r.trigger);
        w.bytes(&r.reminder_specs);
        w.jsonb(&json(&r.reminder_at.0));
        w.int4(r.reminders_done);
        w.timestamptz(r.start_time);
        w.timestamptz(r.due_time);
        w.bytes(r.clock.as_bytes());
        w.opt_text(r.calendar.as_deref());
        w.bytes(&r.payload);
        w.jsonb(&json(&r.labels.0));
        w.opt_int4(r.next_point);
        w.opt_timestamptz(r.next_fire_at);
        w.timestamptz(r.created_at);
        w.timestamptz(r.created_at);
    }
    let mut copy = conn.copy_in_raw(COPY).await?;
    copy.send(w.finish()).await?;
    copy.finish().await?;
    Ok(())
}

/// Inserts the rows that collide with no existing timer; returns the ids inserted.
async fn insert<'e>(
    exec: impl sqlx::PgExecutor<'e>,
    rows: &[TimerRow],
) -> Result<Vec<Uuid>, sqlx::Error> {
    // One statement text whatever the group size (arrays, not a VALUES list), so Postgres
    // parses and plans it once per connection rather than once per distinct size.
    // Columns with defaults (generation, attempts, timestamps, ...) are left to them.
    const SQL: &str =
        "INSERT INTO timers (id, owner, subject, kind, request_id, state, trigger, reminder_specs,
             reminder_at, reminders_done, start_time, due_time, clock, calendar, payload, labels,
             next_point, next_fire_at, created_at, updated_at)
         SELECT id, owner, subject, kind, request_id, 'scheduled', trigger, reminder_specs,
             reminder_at::jsonb, reminders_done, start_time, due_time, clock, calendar, payload,
             labels::jsonb, next_point, next_fire_at, created_at, created_at
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[],
             $7::bytea[], $8::text[], $9::int[], $10::timestamptz[], $11::timestamptz[],
             $12::text[], $13::text[], $14::bytea[], $15::text[], $16::int[], $17::timestamptz[],
             $18::timestamptz[])
           AS t(id, owner, subject, kind, request_id, trigger, reminder_specs, reminder_at,
             reminders_done, start_time, due_time, clock, calendar, payload, labels, next_point,
             next_fire_at, created_at)
         ON CONFLICT DO NOTHING RETURNING id";
    let ids: Vec<(Uuid,)> = sqlx::query_as(SQL)
        .bind(rows.iter().map(|r| r.id).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.owner.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.subject.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>())
        .bind(
            rows.iter()
                .map(|r| r.request_id.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(
            rows.iter()
                .map(|r| r.trigger.as_slice())
                .collect::<Vec<_>>(),
        )
        .bind(
            rows.iter()
                .map(|r| r.reminder_specs.as_slice())
                .collect::<Vec<_>>(),
        )
        .bind(
            rows.iter()
                .map(|r| json(&r.reminder_at.0))
                .collect::<Vec<_>>(),
        )
        .bind(rows.iter().map(|r| r.reminders_done).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.start_time).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.due_time).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.clock.as_str()).collect::<Vec<_>>())
        .bind(
            rows.iter()
                .map(|r| r.calendar.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(
            rows.iter()
                .map(|r| r.payload.as_slice())
                .collect::<Vec<_>>(),
        )
        .bind(rows.iter().map(|r| json(&r.labels.0)).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.next_point).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.next_fire_at).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.created_at).collect::<Vec<_>>())
        .fetch_all(exec)
        .await?;
    Ok(ids.into_iter().map(|(id,)| id).collect())
}

/// Answers for a timer whose insert collided. If the live timer it collided with has
/// ended since, the key is free again and the timer is inserted after all.
async fn collided(tx: &mut PgConnection, r: TimerRow) -> Result<Scheduled, sqlx::Error> {
    for _ in 0..3 {
        match existing_for(&mut *tx, &r).await? {
            Some(e) if e.owner == r.owner => return Ok(Scheduled::Existing(e)),
            Some(_) => return Ok(Scheduled::IdTaken(r.id)),
            None => {
                if !insert(&mut *tx, std::slice::from_ref(&r)).await?.is_empty() {
                    return Ok(Scheduled::Created(r));
                }
            }
        }
    }
    Err(sqlx::Error::Protocol(format!(
        "timers/{}: its key kept changing hands; try again",
        r.id
    )))
}

/// The timer a rejected insert collided with: the same id, else the live one of its key.
async fn existing_for(
    tx: &mut PgConnection,
    r: &TimerRow,
) -> Result<Option<TimerRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM timers
         WHERE id = $1 OR (owner = $2 AND subject = $3 AND kind = $4 AND live)
         ORDER BY (id = $1) DESC LIMIT 1"
    ))
    .bind(r.id)
    .bind(&r.owner)
    .bind(&r.subject)
    .bind(&r.kind)
    .fetch_optional(&mut *tx)
    .await
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("plain data serialises")
}

/// One timer.
pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<TimerRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM timers WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Filters of a timer listing.
#[derive(Debug, Default)]
pub struct TimerFilter {
    pub owner: Option<String>,
    pub subject: Option<String>,
    pub kind: Option<String>,
    pub states: Vec<String>,
    /// Where the previous page ended.
    pub after: Option<Cursor>,
    pub limit: i64,
}

/// A position in a listing: by due time within a subject, by id across subjects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cursor {
    Due(DateTime<Utc>, Uuid),
    Id(Uuid),
}

impl TimerFilter {
    /// The listing's order: a subject's timers by due time (the few clocks of one return or
    /// repair, found through the live-key index); otherwise by id, which pages through
    /// every timer of an owner along the primary key without reading them all per page
    /// (an index by due time would be a fourth insertion per scheduled timer).
    pub fn by_due_time(&self) -> bool {
        self.subject.is_some()
    }

    /// Whether `c` is a position in this listing's order (a page token of another listing
    /// is not).
    pub fn orders_by(&self, c: &Cursor) -> bool {
        matches!(c, Cursor::Due(..)) == self.by_due_time()
    }

    /// Where `row` ends a page, in this listing's order.
    pub fn cursor_after(&self, row: &TimerRow) -> Cursor {
        if self.by_due_time() {
            Cursor::Due(row.due_time, row.id)
        } else {
            Cursor::Id(row.id)
        }
    }
}

/// Timers matching `f`, in its order ([`TimerFilter::by_due_time`]), keyset-paginated. A
/// cursor of the other order is a caller error the API refuses before this.
pub async fn list(pool: &PgPool, f: &TimerFilter) -> Result<Vec<TimerRow>, sqlx::Error> {
    let mut qb: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("SELECT {COLUMNS} FROM timers WHERE true"));
    if let Some(o) = &f.owner {
        qb.push(" AND owner = ").push_bind(o);
    }
    if let Some(s) = &f.subject {
        qb.push(" AND subject = ").push_bind(s);
    }
    if let Some(k) = &f.kind {
        qb.push(" AND kind = ").push_bind(k);
    }
    if !f.states.is_empty() {
        qb.push(" AND state = ANY(").push_bind(&f.states).push(")");
    }
    match f.after {
        Some(Cursor::Due(due, id)) => {
            qb.push(" AND (due_time, id) > (")
                .push_bind(due)
                .push(", ")
                .push_bind(id)
                .push(")");
        }
        Some(Cursor::Id(id)) => {
            qb.push(" AND id > ").push_bind(id);
        }
        None => {}
    }
    qb.push(if f.by_due_time() {
        " ORDER BY due_time, id LIMIT "
    } else {
        " ORDER BY id LIMIT "
    })
    .push_bind(f.limit);
    qb.build_query_as().fetch_all(pool).await
}

/// Locks a timer for a state change in `tx`.
pub async fn lock(tx: &mut PgConnection, id: Uuid) -> Result<Option<TimerRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM timers WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await
}

/// Writes every mutable column of `r`.
pub async fn update(tx: &mut PgConnection, r: &TimerRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE timers SET state = $2, trigger = $3, reminder_at = $4, reminders_done = $5, start_time = $6,
            due_time = $7, remaining_ms = $8, generation = $9, next_point = $10, next_fire_at = $11,
            attempts = $12, last_error = $13, fired_time = $14, reschedule_count = $15, updated_at = now()
         WHERE id = $1",
    )
    .bind(r.id)
    .bind(&r.state)
    .bind(&r.trigger)
    .bind(&r.reminder_at)
    .bind(r.reminders_done)
    .bind(r.start_time)
    .bind(r.due_time)
    .bind(r.remaining_ms)
    .bind(r.generation)
    .bind(r.next_point)
    .bind(r.next_fire_at)
    .bind(r.attempts)
    .bind(&r.last_error)
    .bind(r.fired_time)
    .bind(r.reschedule_count)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Timers by id, for the events a replica just claimed.
pub async fn load(pool: &PgPool, ids: &[Uuid]) -> Result<Vec<TimerRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM timers WHERE id = ANY($1)"))
        .bind(ids)
        .fetch_all(pool)
        .await
}

/// An acknowledged expiry.
pub struct Expired {
    pub id: Uuid,
    pub generation: i32,
    pub fired: DateTime<Utc>,
    pub attempts: i32,
}

// The three statements below update the timers of a batch of deliveries. Each batch joins
// the timers by id to a materialized list that also carries the state the timer must be
// in, so the state test is a join condition and not a filter on `timers` alone (the list
// must stay MATERIALIZED: inlined, its constant state would become that filter again). As a
// filter, it let the planner read every scheduled timer through the `timers_next_fire`
// partial index whenever the statistics said there were few: after a burst of timers
// scheduled since the last ANALYZE, each batch then compared every scheduled timer with
// every delivery (5.3 s for 240 deliveries among 100,000 timers, against 4 ms by id), and
// recording fell seconds behind the firing.

/// Marks expiries fired and records their breaches.
const COMPLETE_EXPIRIES: &str = "
    WITH c AS MATERIALIZED (
        SELECT *, 'scheduled'::text AS state
        FROM unnest($1::uuid[], $2::int[], $3::timestamptz[], $4::int[]) AS c(id, gen, fired, attempts)),
    u AS (
        UPDATE timers t SET state = 'fired', fired_time = c.fired, attempts = c.attempts,
               next_point = NULL, next_fire_at = NULL, last_error = NULL, updated_at = now()
        FROM c WHERE t.id = c.id AND t.generation = c.gen AND t.state = c.state AND t.next_point = -1
        RETURNING t.id, t.generation, t.owner, t.subject, t.kind, t.due_time, c.fired, t.labels),
    b AS (
        INSERT INTO breaches (timer_id, generation, owner, subject, kind, due_time, fired_time, lateness_ms, labels)
        SELECT id, generation, owner, subject, kind, due_time, fired,
               greatest(0, (extract(epoch FROM fired - due_time) * 1000)::bigint), labels FROM u
        ON CONFLICT ON CONSTRAINT breaches_once DO NOTHING
        RETURNING id, timer_id, owner, subject, kind, due_time, fired_time, lateness_ms, labels)
    SELECT * FROM b";

/// Marks reminders done and moves each timer to its next event.
const COMPLETE_REMINDERS: &str = "
    WITH c AS MATERIALIZED (
        SELECT *, 'scheduled'::text AS state
        FROM unnest($1::uuid[], $2::int[], $3::int[], $4::int[], $5::timestamptz[]) AS c(id, gen, point, next_point, next_at))
    UPDATE timers t SET reminders_done = t.reminders_done | (1 << c.point), next_point = c.next_point,
           next_fire_at = c.next_at, attempts = 0, last_error = NULL, updated_at = now()
    FROM c WHERE t.id = c.id AND t.generation = c.gen AND t.state = c.state AND t.next_point = c.point
    RETURNING t.id";

/// Records failed attempts and when each will be retried.
const RECORD_FAILURES: &str = "
    WITH c AS MATERIALIZED (
        SELECT *, 'scheduled'::text AS state
        FROM unnest($1::uuid[], $2::int[], $3::int[], $4::int[], $5::timestamptz[], $6::text[])
             AS c(id, gen, point, attempts, retry_at, error))
    UPDATE timers t SET attempts = c.attempts, last_error = c.error, next_fire_at = c.retry_at, updated_at = now()
    FROM c WHERE t.id = c.id AND t.generation = c.gen AND t.state = c.state AND t.next_point = c.point";

/// Marks expiries fired and records their breaches, in one statement. Returns the breaches
/// recorded: those of timers still current (one rescheduled or cancelled meanwhile is left
/// alone), each once.
pub async fn complete_expiries(
    tx: &mut PgConnection,
    items: &[Expired],
) -> Result<Vec<BreachRow>, sqlx::Error> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = items.iter().map(|i| i.id).collect();
    let gens: Vec<i32> = items.iter().map(|i| i.generation).collect();
    let fired: Vec<DateTime<Utc>> = items.iter().map(|i| i.fired).collect();
    let attempts: Vec<i32> = items.iter().map(|i| i.attempts).collect();
    sqlx::query_as(COMPLETE_EXPIRIES)
        .bind(&ids)
        .bind(&gens)
        .bind(&fired)
        .bind(&attempts)
        .fetch_all(&mut *tx)
        .await
}

/// An acknowledged reminder and the event that follows it.
pub struct Reminded {
    pub id: Uuid,
    pub generation: i32,
    pub point: i32,
    pub next_point: i32,
    pub next_at: DateTime<Utc>,
}

/// Marks reminders done and moves each timer to its next event. Returns the ids advanced.
pub async fn complete_reminders(
    tx: &mut PgConnection,
    items: &[Reminded],
) -> Result<Vec<Uuid>, sqlx::Error> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(Uuid,)> = sqlx::query_as(COMPLETE_REMINDERS)
        .bind(items.iter().map(|i| i.id).collect::<Vec<_>>())
        .bind(items.iter().map(|i| i.generation).collect::<Vec<_>>())
        .bind(items.iter().map(|i| i.point).collect::<Vec<_>>())
        .bind(items.iter().map(|i| i.next_point).collect::<Vec<_>>())
        .bind(items.iter().map(|i| i.next_at).collect::<Vec<_>>())
        .fetch_all(&mut *tx)
        .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// A failed delivery to retry later.
pub struct Failed {
    pub id: Uuid,
    pub generation: i32,
    pub point: i32,
    pub attempts: i32,
    pub retry_at: DateTime<Utc>,
    pub error: String,
}

/// Records failed attempts and when each will be retried.
pub async fn record_failures(tx: &mut PgConnection, items: &[Failed]) -> Result<(), sqlx::Error> {
    if items.is_empty() {
        return Ok(());
    }
    sqlx::query(RECORD_FAILURES)
        .bind(items.iter().map(|i| i.id).collect::<Vec<_>>())
        .bind(items.iter().map(|i| i.generation).collect::<Vec<_>>())
        .bind(items.iter().map(|i| i.point).collect::<Vec<_>>())
        .bind(items.iter().map(|i| i.attempts).collect::<Vec<_>>())
        .bind(items.iter().map(|i| i.retry_at).collect::<Vec<_>>())
        .bind(items.iter().map(|i| i.error.clone()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// A dead letter row.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DeadLetterRow {
    pub id: i64,
    pub timer_id: Uuid,
    pub owner: String,
    pub subject: String,
    pub kind: String,
    pub point: i32,
    pub generation: i32,
    pub delivery_id: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub replayed_at: Option<DateTime<Utc>>,
}

/// A delivery to park as dead, and (for a reminder) the event that follows it.
pub struct Parking<'a> {
    pub id: Uuid,
    pub generation: i32,
    pub point: i32,
    pub delivery_id: &'a str,
    pub attempts: i32,
    pub error: &'a str,
    pub next: Option<(i32, DateTime<Utc>)>,
}

/// Parks a delivery that exhausted its retries. An expiry parks the timer too; a reminder
/// is skipped so the clock still runs to its deadline. Returns the parked row, or None when
/// the timer moved on meanwhile.
pub async fn dead_letter(
    tx: &mut PgConnection,
    p: Parking<'_>,
) -> Result<Option<DeadLetterRow>, sqlx::Error> {
    let Parking {
        id,
        generation,
        point,
        delivery_id,
        attempts,
        error,
        next,
    } = p;
    let Some(t) = lock(tx, id).await? else {
        return Ok(None);
    };
    if t.generation != generation || t.state != "scheduled" || t.next_point != Some(point) {
        return Ok(None);
    }
    if point < 0 {
        sqlx::query(
            "UPDATE timers SET state = 'dead_letter', attempts = $2, last_error = $3, next_fire_at = NULL, updated_at = now() WHERE id = $1",
        )
        .bind(id)
        .bind(attempts)
        .bind(error)
        .execute(&mut *tx)
        .await?;
    } else {
        let (np, at) = next.expect("a reminder is followed by another event");
        sqlx::query(
            "UPDATE timers SET reminders_done = reminders_done | (1 << $2), next_point = $3, next_fire_at = $4,
                    attempts = 0, last_error = NULL, updated_at = now() WHERE id = $1",
        )
        .bind(id)
        .bind(point)
        .bind(np)
        .bind(at)
        .execute(&mut *tx)
        .await?;
    }
    let row = sqlx::query_as(
        "INSERT INTO dead_letters (timer_id, owner, subject, kind, point, generation, delivery_id, attempts, last_error)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *",
    )
    .bind(id)
    .bind(&t.owner)
    .bind(&t.subject)
    .bind(&t.kind)
    .bind(point)
    .bind(generation)
    .bind(delivery_id)
    .bind(attempts)
    .bind(error)
    .fetch_one(&mut *tx)
    .await?;
    Ok(Some(row))
}

/// Dead letters, newest last, optionally of one owner.
pub async fn list_dead_letters(
    pool: &PgPool,
    owner: Option<&str>,
    after: i64,
    limit: i64,
) -> Result<Vec<DeadLetterRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT * FROM dead_letters WHERE ($1::text IS NULL OR owner = $1) AND id > $2 ORDER BY id LIMIT $3",
    )
    .bind(owner)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Locks a dead letter for replay.
pub async fn lock_dead_letter(
    tx: &mut PgConnection,
    id: i64,
) -> Result<Option<DeadLetterRow>, sqlx::Error> {
    sqlx::query_as("SELECT * FROM dead_letters WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
}

/// Marks a dead letter replayed.
pub async fn mark_replayed(tx: &mut PgConnection, id: i64) -> Result<DeadLetterRow, sqlx::Error> {
    sqlx::query_as("UPDATE dead_letters SET replayed_at = now() WHERE id = $1 RETURNING *")
        .bind(id)
        .fetch_one(&mut *tx)
        .await
}

/// A breach row.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct BreachRow {
    pub id: i64,
    pub timer_id: Uuid,
    pub owner: String,
    pub subject: String,
    pub kind: String,
    pub due_time: DateTime<Utc>,
    pub fired_time: DateTime<Utc>,
    pub lateness_ms: i64,
    pub labels: sqlx::types::Json<std::collections::BTreeMap<String, String>>,
}

/// Filters of a breach listing.
#[derive(Debug, Default)]
pub struct BreachFilter {
    pub owner: Option<String>,
    pub kind: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub label: Option<(String, String)>,
    pub after: i64,
    pub limit: i64,
}

/// Breaches matching `f` and the total count of matches.
pub async fn list_breaches(
    pool: &PgPool,
    f: &BreachFilter,
) -> Result<(Vec<BreachRow>, i64), sqlx::Error> {
    let filter = |qb: &mut QueryBuilder<'_, Postgres>| {
        if let Some(o) = &f.owner {
            qb.push(" AND owner = ").push_bind(o.clone());
        }
        if let Some(k) = &f.kind {
            qb.push(" AND kind = ").push_bind(k.clone());
        }
        if let Some(t) = f.from {
            qb.push(" AND due_time >= ").push_bind(t);
        }
        if let Some(t) = f.to {
            qb.push(" AND due_time < ").push_bind(t);
        }
        if let Some((k, v)) = &f.label {
            qb.push(" AND labels ->> ")
                .push_bind(k.clone())
                .push(" = ")
                .push_bind(v.clone());
        }
    };
    let mut qb = QueryBuilder::new(
        "SELECT id, timer_id, owner, subject, kind, due_time, fired_time, lateness_ms, labels FROM breaches WHERE true",
    );
    filter(&mut qb);
    qb.push(" AND id > ")
        .push_bind(f.after)
        .push(" ORDER BY id LIMIT ")
        .push_bind(f.limit);
    let rows = qb.build_query_as().fetch_all(pool).await?;
    let mut qc = QueryBuilder::new("SELECT count(*) FROM breaches WHERE true");
    filter(&mut qc);
    let (total,): (i64,) = qc.build_query_as().fetch_one(pool).await?;
    Ok((rows, total))
}

/// Live scheduled timers after `after` (keyset), for rebuilding Redis.
pub async fn scan_scheduled(
    pool: &PgPool,
    after: Uuid,
    limit: i64,
) -> Result<Vec<(Uuid, i32, i32, DateTime<Utc>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, generation, next_point, next_fire_at FROM timers
         WHERE state = 'scheduled' AND next_fire_at IS NOT NULL AND id > $1 ORDER BY id LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Scheduled timers whose next event is overdue by more than `grace_ms`: stragglers whose
/// Redis entry was lost (e.g. a crash between commit and ZADD).
pub async fn overdue(
    pool: &PgPool,
    grace_ms: i64,
    limit: i64,
) -> Result<Vec<(Uuid, i32, i32, DateTime<Utc>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, generation, next_point, next_fire_at FROM timers
         WHERE state = 'scheduled' AND next_fire_at < now() - make_interval(secs => $1 / 1000.0)
         ORDER BY next_fire_at LIMIT $2",
    )
    .bind(grace_ms as f64)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Calendar years loaded at run time.
pub async fn calendar_years(
    pool: &PgPool,
) -> Result<
    Vec<(
        String,
        i32,
        sqlx::types::Json<Vec<(String, String)>>,
        sqlx::types::Json<Vec<String>>,
    )>,
    sqlx::Error,
> {
    sqlx::query_as(
        "SELECT calendar, year, holidays, makeup_days FROM calendar_years ORDER BY calendar, year",
    )
    .fetch_all(pool)
    .await
}

/// Stores a calendar year (replacing it).
pub async fn upsert_calendar_year(
    pool: &PgPool,
    calendar: &str,
    year: i32,
    holidays: &[(String, String)],
    makeup: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO calendar_years (calendar, year, holidays, makeup_days) VALUES ($1, $2, $3, $4)
         ON CONFLICT (calendar, year) DO UPDATE SET holidays = excluded.holidays, makeup_days = excluded.makeup_days, updated_at = now()",
    )
    .bind(calendar)
    .bind(year)
    .bind(sqlx::types::Json(holidays))
    .bind(sqlx::types::Json(makeup))
    .execute(pool)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The batch updates against a real Postgres: their plans find timers by id even when
    //! the statistics say almost none are scheduled.

    use super::*;

    /// Rows the plan read from `timers`: those its nodes passed on and those their filters
    /// dropped.
    fn timer_rows_read(node: &serde_json::Value) -> f64 {
        let n = |k: &str| node[k].as_f64().unwrap_or(0.0);
        let own = if node["Relation Name"] == "timers" {
            (n("Actual Rows") + n("Rows Removed by Filter") + n("Rows Removed by Join Filter"))
                * n("Actual Loops").max(1.0)
        } else {
            0.0
        };
        own + node["Plans"]
            .as_array()
            .map_or(0.0, |plans| plans.iter().map(timer_rows_read).sum())
    }

    /// Runs `EXPLAIN ANALYZE` of a statement with its binds, rolled back; the rows read.
    macro_rules! rows_read_by {
        ($pool:expr, $sql:expr $(, $bind:expr)+) => {{
            let mut tx = $pool.begin().await.unwrap();
            let (plan,): (serde_json::Value,) =
                sqlx::query_as(&format!("EXPLAIN (ANALYZE, FORMAT JSON) {}", $sql))
                    $(.bind($bind))+
                    .fetch_one(&mut *tx)
                    .await
                    .unwrap();
            tx.rollback().await.unwrap();
            timer_rows_read(&plan[0]["Plan"])
        }};
    }

    #[tokio::test]
    async fn batch_updates_find_timers_by_id_after_a_burst_the_statistics_missed() {
        let pool = testkit::World::new().migrated_pool(&crate::SPEC).await;
        let exec = |sql: &'static str| {
            let pool = pool.clone();
            async move { sqlx::query(sql).execute(&pool).await.unwrap() }
        };
        // 20,000 timers, and statistics taken while all but 10 had fired...
        exec(
            "INSERT INTO timers (id, owner, subject, kind, state, trigger, reminder_specs,
                 start_time, due_time, clock, next_point, next_fire_at)
             SELECT gen_random_uuid(), 'returns', 'rma/' || g, 'review',
                 CASE WHEN g <= 10 THEN 'scheduled' ELSE 'fired' END, '', '', now(), now(),
                 'wall', CASE WHEN g <= 10 THEN -1 END, CASE WHEN g <= 10 THEN now() END
             FROM generate_series(1, 20000) g",
        )
        .await;
        exec("ALTER TABLE timers SET (autovacuum_enabled = off)").await;
        exec("ANALYZE timers").await;
        // ...then a burst scheduled them all again before the next ANALYZE.
        exec("UPDATE timers SET state = 'scheduled', next_point = -1, next_fire_at = now()").await;
        let ids: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM timers LIMIT 50")
            .fetch_all(&pool)
            .await
            .unwrap();
        let n = ids.len();
        let (gens, expiry, reminder) = (vec![0_i32; n], vec![-1_i32; n], vec![0_i32; n]);
        let (times, ones) = (vec![Utc::now(); n], vec![1_i32; n]);
        let errors = vec![String::from("unavailable"); n];

        let read = [
            (
                "complete_expiries",
                rows_read_by!(pool, COMPLETE_EXPIRIES, &ids, &gens, &times, &ones),
            ),
            (
                "complete_reminders",
                rows_read_by!(
                    pool,
                    COMPLETE_REMINDERS,
                    &ids,
                    &gens,
                    &reminder,
                    &expiry,
                    &times
                ),
            ),
            (
                "record_failures",
                rows_read_by!(
                    pool,
                    RECORD_FAILURES,
                    &ids,
                    &gens,
                    &expiry,
                    &ones,
                    &times,
                    &errors
                ),
            ),
        ];
        // The premise: with the state as a filter, the planner goes through the scheduled
        // timers (else this test would prove nothing on this Postgres).
        let filtered = COMPLETE_EXPIRIES.replace("t.state = c.state", "t.state = 'scheduled'");
        let control = rows_read_by!(pool, filtered, &ids, &gens, &times, &ones);
        assert!(
            control >= 20_000.0,
            "with the state as a filter the plan read only {control} rows"
        );
        // By id: one row per delivery.
        for (statement, rows) in read {
            assert!(
                rows <= 2.0 * n as f64,
                "{statement} read {rows} timers for {n} deliveries"
            );
        }
    }
}
