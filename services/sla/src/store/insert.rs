//! New timers: the group commit's binary COPY, and the careful way (insert what does not
//! collide, answer the rest) when a retried or duplicate timer makes it fail.

use sqlx::PgConnection;
use uuid::Uuid;

use super::{COLUMNS, TimerRow};
use crate::pgcopy;

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
