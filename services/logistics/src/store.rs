//! The logistics schema: the only file that knows table names. Writes take the caller's
//! transaction so a change, its audit row and its outbox rows commit together.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

/// A stored shipment.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ShipmentRow {
    pub id: Uuid,
    pub case_name: String,
    pub leg: i16,
    pub carrier_code: String,
    pub tracking_number: String,
    pub status: i16,
    pub promised_delivery_time: Option<DateTime<Utc>>,
    pub destination: Option<Vec<u8>>,
    pub booking_id: Option<String>,
    pub pickup_address: Option<Vec<u8>>,
    pub window_start_time: Option<DateTime<Utc>>,
    pub window_end_time: Option<DateTime<Utc>>,
    pub last_event_time: Option<DateTime<Utc>>,
    pub delivered_time: Option<DateTime<Utc>>,
    pub delivered_late: bool,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
    /// The case's parties as the case owner gave them ('' when it did not).
    pub buyer_id: String,
    pub merchant_id: String,
}

impl ShipmentRow {
    /// The resource name.
    pub fn name(&self) -> String {
        crate::names::shipment(self.id)
    }
}

/// A stored carrier event.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct EventRow {
    pub carrier_code: String,
    pub event_id: String,
    pub tracking_number: String,
    pub status: i16,
    pub event_time: DateTime<Utc>,
    pub location: String,
    pub description: String,
    pub receive_time: DateTime<Utc>,
    /// Who reported it: `partner` and the partner id, or an agent ('' for older rows).
    pub reporter_role: String,
    pub reporter_id: String,
}

const COLUMNS: &str = "id, case_name, leg, carrier_code, tracking_number, status,
    promised_delivery_time, destination, booking_id, pickup_address, window_start_time,
    window_end_time, last_event_time, delivered_time, delivered_late, create_time, update_time,
    buyer_id, merchant_id";

/// Stores a carrier event once; false when (carrier, event id) was already stored.
pub async fn insert_event(tx: &mut PgConnection, e: &EventRow) -> Result<bool, sqlx::Error> {
    let n = sqlx::query(
        "INSERT INTO carrier_events (carrier_code, event_id, tracking_number, status, event_time,
             location, description, reporter_role, reporter_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT ON CONSTRAINT carrier_events_pk DO NOTHING",
    )
    .bind(&e.carrier_code)
    .bind(&e.event_id)
    .bind(&e.tracking_number)
    .bind(e.status)
    .bind(e.event_time)
    .bind(&e.location)
    .bind(&e.description)
    .bind(&e.reporter_role)
    .bind(&e.reporter_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// The events of a tracking number, by event time.
pub async fn events(
    conn: &mut PgConnection,
    carrier: &str,
    tracking: &str,
) -> Result<Vec<EventRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT carrier_code, event_id, tracking_number, status, event_time, location,
                description, receive_time, reporter_role, reporter_id
         FROM carrier_events WHERE carrier_code = $1 AND tracking_number = $2
         ORDER BY event_time, receive_time, event_id",
    )
    .bind(carrier)
    .bind(tracking)
    .fetch_all(&mut *conn)
    .await
}

/// Serialises everything about one parcel (its events and its registrations) until `tx`
/// ends. Row locks alone cannot: the first registration of a tracking number has no row
/// to lock yet, and an event racing it would find no shipment and never be applied.
pub async fn lock_parcel(
    tx: &mut PgConnection,
    carrier: &str,
    tracking: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1 || ':' || $2))")
        .bind(carrier)
        .bind(tracking)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// The shipments of a tracking number, locked until `tx` ends (events of one parcel are
/// applied one at a time).
pub async fn lock_tracking(
    tx: &mut PgConnection,
    carrier: &str,
    tracking: &str,
) -> Result<Vec<ShipmentRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM shipments WHERE carrier_code = $1 AND tracking_number = $2
         ORDER BY id FOR UPDATE"
    ))
    .bind(carrier)
    .bind(tracking)
    .fetch_all(&mut *tx)
    .await
}

/// A shipment to register.
#[derive(Clone, Debug)]
pub struct NewShipment {
    pub case_name: String,
    pub leg: i16,
    pub carrier_code: String,
    pub tracking_number: String,
    pub status: i16,
    pub promised_delivery_time: Option<DateTime<Utc>>,
    pub destination: Option<Vec<u8>>,
    pub booking_id: Option<String>,
    pub pickup_address: Option<Vec<u8>>,
    pub window_start_time: Option<DateTime<Utc>>,
    pub window_end_time: Option<DateTime<Utc>>,
    pub buyer_id: String,
    pub merchant_id: String,
}

/// Inserts a shipment, or returns the one already registered for the same carrier,
/// tracking number and case (`false`).
pub async fn insert_shipment(
    tx: &mut PgConnection,
    s: &NewShipment,
) -> Result<(ShipmentRow, bool), sqlx::Error> {
    let inserted: Option<ShipmentRow> = sqlx::query_as(&format!(
        "INSERT INTO shipments (id, case_name, leg, carrier_code, tracking_number, status,
             promised_delivery_time, destination, booking_id, pickup_address,
             window_start_time, window_end_time, buyer_id, merchant_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT ON CONSTRAINT shipments_once_per_case DO NOTHING
         RETURNING {COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(&s.case_name)
    .bind(s.leg)
    .bind(&s.carrier_code)
    .bind(&s.tracking_number)
    .bind(s.status)
    .bind(s.promised_delivery_time)
    .bind(&s.destination)
    .bind(&s.booking_id)
    .bind(&s.pickup_address)
    .bind(s.window_start_time)
    .bind(s.window_end_time)
    .bind(&s.buyer_id)
    .bind(&s.merchant_id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(row) = inserted {
        return Ok((row, true));
    }
    let existing = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM shipments
         WHERE carrier_code = $1 AND tracking_number = $2 AND case_name = $3 FOR UPDATE"
    ))
    .bind(&s.carrier_code)
    .bind(&s.tracking_number)
    .bind(&s.case_name)
    .fetch_one(&mut *tx)
    .await?;
    Ok((existing, false))
}

/// A shipment's new position.
#[derive(Clone, Debug)]
pub struct Move {
    pub status: i16,
    pub last_event_time: Option<DateTime<Utc>>,
    pub delivered_time: Option<DateTime<Utc>>,
    pub delivered_late: bool,
}

/// Writes a shipment's new position.
pub async fn update(tx: &mut PgConnection, id: Uuid, m: &Move) -> Result<ShipmentRow, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE shipments SET status = $2, last_event_time = $3,
             delivered_time = COALESCE(delivered_time, $4), delivered_late = $5, update_time = now()
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(m.status)
    .bind(m.last_event_time)
    .bind(m.delivered_time)
    .bind(m.delivered_late)
    .fetch_one(&mut *tx)
    .await
}

/// One shipment.
pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<ShipmentRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM shipments WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// The filter of a list or timeline query.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub case_name: Option<String>,
    pub carrier_code: Option<String>,
    pub tracking_number: Option<String>,
    pub leg: Option<i16>,
    pub statuses: Vec<i16>,
    /// A buyer's or a merchant's own shipments only.
    pub buyer_id: Option<String>,
    pub merchant_id: Option<String>,
}

/// Shipments matching `f`, by id ascending or descending, after `after`.
pub async fn list(
    pool: &PgPool,
    f: &Filter,
    after: Option<Uuid>,
    newest_first: bool,
    limit: i64,
) -> Result<Vec<ShipmentRow>, sqlx::Error> {
    let mut q: QueryBuilder<'_, Postgres> =
        QueryBuilder::new(format!("SELECT {COLUMNS} FROM shipments WHERE true"));
    if let Some(v) = &f.case_name {
        q.push(" AND case_name = ").push_bind(v.clone());
    }
    if let Some(v) = &f.carrier_code {
        q.push(" AND carrier_code = ").push_bind(v.clone());
    }
    if let Some(v) = &f.tracking_number {
        q.push(" AND tracking_number = ").push_bind(v.clone());
    }
    if let Some(v) = f.leg {
        q.push(" AND leg = ").push_bind(v);
    }
    if let Some(v) = &f.buyer_id {
        q.push(" AND buyer_id = ").push_bind(v.clone());
    }
    if let Some(v) = &f.merchant_id {
        q.push(" AND merchant_id = ").push_bind(v.clone());
    }
    if !f.statuses.is_empty() {
        q.push(" AND status = ANY(")
            .push_bind(f.statuses.clone())
            .push(")");
    }
    if let Some(a) = after {
        q.push(if newest_first {
            " AND id < "
        } else {
            " AND id > "
        })
        .push_bind(a);
    }
    q.push(if newest_first {
        " ORDER BY id DESC"
    } else {
        " ORDER BY id"
    });
    q.push(" LIMIT ").push_bind(limit);
    q.build_query_as().fetch_all(pool).await
}

/// One change of a shipment to record (SPEC §9).
#[derive(Clone, Copy, Debug)]
pub struct Audit<'a> {
    /// (role, id): the caller that registered it, or the reporter of a carrier event.
    pub actor: (&'a str, &'a str),
    /// The status before; `None` for the registration.
    pub from: Option<i16>,
    /// The status after.
    pub to: i16,
    /// `register`, `book_pickup`, `carrier_event`.
    pub action: &'a str,
    /// Why.
    pub reason: &'a str,
    /// The causing call's request id ('' for a carrier event).
    pub request_id: &'a str,
}

/// Appends an audit row for shipment `id`.
pub async fn audit(tx: &mut PgConnection, id: Uuid, a: &Audit<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit (shipment_id, actor_role, actor_id, from_state, to_state, action,
                            reason, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(a.actor.0)
    .bind(a.actor.1)
    .bind(a.from)
    .bind(a.to)
    .bind(a.action)
    .bind(a.reason)
    .bind(a.request_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A stored audit row.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_role: String,
    pub actor_id: String,
    pub from_state: Option<i16>,
    pub to_state: i16,
    pub action: String,
    pub reason: String,
    pub request_id: String,
}

/// Up to `limit` rows of shipment `id`'s trail after row `after`, oldest first.
pub async fn audit_page(
    pool: &PgPool,
    id: Uuid,
    after: i64,
    limit: i64,
) -> Result<Vec<AuditRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, at, actor_role, actor_id, from_state, to_state, action, reason, request_id
         FROM audit WHERE shipment_id = $1 AND id > $2 ORDER BY id LIMIT $3",
    )
    .bind(id)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}
