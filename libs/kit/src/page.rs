//! The one page rule of every `List` method (AIP-158): `page_size` 0 means the default
//! of 20, 1 to 100 is taken as asked, anything else is INVALID_ARGUMENT; `page_token` is
//! an opaque keyset position (the last row of the previous page), never an offset, so a
//! row inserted meanwhile neither repeats nor hides one.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::Violations;

/// Rows on a page when the caller asks for none in particular.
pub const DEFAULT_SIZE: i64 = 20;
/// The most rows one page holds.
pub const MAX_SIZE: i64 = 100;

/// What a caller asked of one page: how many rows, after which position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<K> {
    /// Rows to return (1..=[`MAX_SIZE`]).
    pub size: i64,
    /// The keyset position to continue after; `None` for the first page.
    pub after: Option<K>,
}

impl<K> Page<K> {
    /// Parses `page_size` and `page_token`, recording a bad one in `v`. `parse` reads a
    /// token this list handed out; `None` from it means the token is not one of ours.
    pub fn parse(
        v: &mut Violations,
        page_size: i32,
        page_token: &str,
        parse: impl FnOnce(&str) -> Option<K>,
    ) -> Self {
        let size = match i64::from(page_size) {
            0 => DEFAULT_SIZE,
            n if (1..=MAX_SIZE).contains(&n) => n,
            _ => {
                v.add(
                    "page_size",
                    format!("must be between 0 (default {DEFAULT_SIZE}) and {MAX_SIZE}"),
                );
                DEFAULT_SIZE
            }
        };
        let after = if page_token.is_empty() {
            None
        } else {
            let after = parse(page_token);
            if after.is_none() {
                v.add("page_token", "is not a token from this list");
            }
            after
        };
        Self { size, after }
    }

    /// How many rows to fetch: one more than the page, to learn whether another follows.
    pub fn fetch(&self) -> i64 {
        self.size + 1
    }

    /// Cuts the rows fetched with [`Page::fetch`] to the page and returns the token of
    /// the next page (empty when this is the last), made by `token` from the last row.
    pub fn finish<T>(&self, rows: &mut Vec<T>, token: impl FnOnce(&T) -> String) -> String {
        if rows.len() as i64 <= self.size {
            return String::new();
        }
        rows.truncate(self.size as usize);
        rows.last().map(token).unwrap_or_default()
    }
}

/// A keyset token of a row ordered by a time (which may be unset: `-`), then its id:
/// `<unix micros>.<uuid>`.
pub fn time_id_token(time: Option<DateTime<Utc>>, id: Uuid) -> String {
    match time {
        Some(t) => format!("{}.{id}", t.timestamp_micros()),
        None => format!("-.{id}"),
    }
}

/// Reads a [`time_id_token`] back.
pub fn parse_time_id(token: &str) -> Option<(Option<DateTime<Utc>>, Uuid)> {
    let (micros, id) = token.split_once('.')?;
    let time = match micros {
        "-" => None,
        m => Some(DateTime::from_timestamp_micros(m.parse().ok()?)?),
    };
    Some((time, Uuid::parse_str(id).ok()?))
}

/// A keyset token of a row ordered by its id alone.
pub fn parse_id(token: &str) -> Option<Uuid> {
    Uuid::parse_str(token).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(size: i32, token: &str) -> (Page<i64>, Vec<String>) {
        let mut v = Violations::new();
        let p = Page::parse(&mut v, size, token, |t| t.parse().ok());
        let fields = match v.finish() {
            Ok(()) => Vec::new(),
            Err(crate::Error::InvalidArgument(f)) => f.into_iter().map(|f| f.field).collect(),
            Err(e) => panic!("{e}"),
        };
        (p, fields)
    }

    #[test]
    fn size_zero_is_the_default_and_one_to_a_hundred_are_taken() {
        assert_eq!(page(0, "").0.size, 20);
        assert_eq!(page(1, "").0.size, 1);
        assert_eq!(page(100, "").0.size, 100);
        assert!(page(100, "").1.is_empty());
    }

    #[test]
    fn sizes_out_of_range_are_refused() {
        assert_eq!(page(101, "").1, ["page_size"]);
        assert_eq!(page(-1, "").1, ["page_size"]);
    }

    #[test]
    fn a_token_not_from_this_list_is_refused() {
        assert_eq!(page(0, "7").0.after, Some(7));
        assert_eq!(page(0, "x").1, ["page_token"]);
        assert_eq!(page(0, "").0.after, None);
    }

    #[test]
    fn finish_cuts_the_extra_row_and_names_the_last_kept() {
        let p = Page::<i64> {
            size: 2,
            after: None,
        };
        let mut rows = vec![1, 2, 3];
        assert_eq!(p.finish(&mut rows, |r| r.to_string()), "2");
        assert_eq!(rows, [1, 2]);
        let mut rows = vec![1, 2];
        assert_eq!(p.finish(&mut rows, |r| r.to_string()), "");
        assert_eq!(p.fetch(), 3);
    }

    #[test]
    fn time_id_tokens_round_trip() {
        let t = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
        let id = Uuid::now_v7();
        assert_eq!(
            parse_time_id(&time_id_token(Some(t), id)),
            Some((Some(t), id))
        );
        assert_eq!(parse_time_id(&time_id_token(None, id)), Some((None, id)));
        assert_eq!(parse_time_id("12"), None);
        assert_eq!(parse_time_id("x.y"), None);
    }
}
