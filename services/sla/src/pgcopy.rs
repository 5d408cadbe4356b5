//! Postgres's binary COPY format, for the group insert: the rows go to the server in its
//! own binary representation, with no statement to plan and no arrays to unpack, which
//! costs Postgres less per row than `INSERT ... SELECT FROM unnest(...)`.
//!
//! The format: a header, then per row a field count and per field a big-endian length
//! (-1 for NULL) and the value's binary form, then a -1 trailer
//! (<https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4>).

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Microseconds from the Unix epoch to Postgres's (2000-01-01), the zero of a timestamptz.
const PG_EPOCH_US: i64 = 946_684_800_000_000;

/// One COPY ... FROM STDIN (FORMAT binary) stream, built in memory.
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(4096);
        buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        buf.extend_from_slice(&0i32.to_be_bytes()); // flags: no OIDs
        buf.extend_from_slice(&0i32.to_be_bytes()); // no header extension
        Writer { buf }
    }

    /// Starts a row of `fields` values, which must follow in the statement's column order.
    pub fn row(&mut self, fields: i16) {
        self.buf.extend_from_slice(&fields.to_be_bytes());
    }

    fn field(&mut self, bytes: &[u8]) {
        self.buf
            .extend_from_slice(&(bytes.len() as i32).to_be_bytes());
        self.buf.extend_from_slice(bytes);
    }

    pub fn null(&mut self) {
        self.buf.extend_from_slice(&(-1i32).to_be_bytes());
    }

    pub fn uuid(&mut self, v: Uuid) {
        self.field(v.as_bytes());
    }

    /// text (and bytea: both are their bytes as they are).
    pub fn bytes(&mut self, v: &[u8]) {
        self.field(v);
    }

    pub fn opt_text(&mut self, v: Option<&str>) {
        match v {
            Some(s) => self.field(s.as_bytes()),
            None => self.null(),
        }
    }

    /// jsonb: a version byte (1), then the JSON text.
    pub fn jsonb(&mut self, json: &str) {
        self.buf
            .extend_from_slice(&(json.len() as i32 + 1).to_be_bytes());
        self.buf.push(1);
        self.buf.extend_from_slice(json.as_bytes());
    }

    pub fn int4(&mut self, v: i32) {
        self.field(&v.to_be_bytes());
    }

    pub fn opt_int4(&mut self, v: Option<i32>) {
        match v {
            Some(v) => self.int4(v),
            None => self.null(),
        }
    }

    /// timestamptz: microseconds since 2000-01-01 UTC.
    pub fn timestamptz(&mut self, t: DateTime<Utc>) {
        self.field(&(t.timestamp_micros() - PG_EPOCH_US).to_be_bytes());
    }

    pub fn opt_timestamptz(&mut self, t: Option<DateTime<Utc>>) {
        match t {
            Some(t) => self.timestamptz(t),
            None => self.null(),
        }
    }

    /// The stream, with its trailer.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.extend_from_slice(&(-1i16).to_be_bytes());
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_is_laid_out_as_postgres_reads_it() {
        let mut w = Writer::new();
        w.row(4);
        w.int4(-2);
        w.opt_text(None);
        w.jsonb("{}");
        w.timestamptz(DateTime::from_timestamp(946_684_801, 0).unwrap());
        let out = w.finish();
        let mut expected = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0".to_vec();
        expected.extend_from_slice(&[0, 4]); // 4 fields
        expected.extend_from_slice(&[0, 0, 0, 4, 0xff, 0xff, 0xff, 0xfe]); // int4 -2
        expected.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]); // NULL
        expected.extend_from_slice(&[0, 0, 0, 3, 1, b'{', b'}']); // jsonb v1 "{}"
        expected.extend_from_slice(&[0, 0, 0, 8, 0, 0, 0, 0, 0, 0x0f, 0x42, 0x40]); // 1 s
        expected.extend_from_slice(&[0xff, 0xff]); // trailer
        assert_eq!(out, expected);
    }
}
