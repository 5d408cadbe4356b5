//! Field rules that several services' requests share, each recording its violation in
//! the caller's [`Violations`] so that one answer names every bad field: a parcel's
//! carrier and tracking number, the name of the case a request is about, bounded text,
//! lists of evidence.

use aftersales_proto::aftersales::common::v1::EvidenceRef;

use crate::{error::Violations, idempotency};

/// The longest carrier code (`sf`, `jd`, `zto` …).
pub const CARRIER_CODE_MAX: usize = 32;
/// The longest tracking number a carrier hands out.
pub const TRACKING_NUMBER_MAX: usize = 64;
/// The longest case name (`returns/{uuid}`, with room for other services' ids).
pub const CASE_NAME_MAX: usize = 200;
/// The most evidence items (photos, videos, documents) one step may carry.
pub const EVIDENCE_MAX: usize = 20;
/// The longest evidence URI.
pub const EVIDENCE_URI_MAX: usize = 1000;

/// Whether `raw` is a tracking number: 1-64 ASCII letters, digits or `-`.
pub fn is_tracking_number(raw: &str) -> bool {
    !raw.is_empty()
        && raw.len() <= TRACKING_NUMBER_MAX
        && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// A tracking number in `field`.
pub fn tracking_number(v: &mut Violations, field: &str, raw: &str) {
    if !is_tracking_number(raw) {
        v.add(field, "1-64 letters, digits or '-'");
    }
}

/// A carrier code in `field`: 1 to [`CARRIER_CODE_MAX`] ASCII letters, digits or `-`
/// (whether the carrier is one we work with is the logistics service's to say; the
/// shape is what logistics takes, so a code passed on is never refused there for it).
pub fn carrier_code(v: &mut Violations, field: &str, raw: &str) {
    let shaped = raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if raw.is_empty() || raw.len() > CARRIER_CODE_MAX || !shaped {
        v.add(
            field,
            format!("1-{CARRIER_CODE_MAX} letters, digits or '-'"),
        );
    }
}

/// The name of the case a request is about, `<service>/<id>` (e.g. `returns/123`).
pub fn case_name(v: &mut Violations, field: &str, raw: &str) {
    match raw.split_once('/') {
        Some((svc, id)) if !svc.is_empty() && !id.is_empty() && raw.len() <= CASE_NAME_MAX => {}
        _ => v.add(field, "must name the case, e.g. returns/123"),
    }
}

/// Optional text of at most `max` bytes.
pub fn text(v: &mut Violations, field: &str, value: &str, max: usize) {
    if value.len() > max {
        v.add(field, format!("at most {max} bytes"));
    }
}

/// Required text: not blank, at most `max` bytes.
pub fn required_text(v: &mut Violations, field: &str, value: &str, max: usize) {
    if value.trim().is_empty() {
        v.add(field, "is required");
    } else {
        text(v, field, value, max);
    }
}

/// A list of evidence: at most [`EVIDENCE_MAX`] items, each with a URI.
pub fn evidence(v: &mut Violations, field: &str, items: &[EvidenceRef]) {
    if items.len() > EVIDENCE_MAX {
        v.add(field, format!("at most {EVIDENCE_MAX} items"));
    }
    if items
        .iter()
        .any(|x| x.uri.is_empty() || x.uri.len() > EVIDENCE_URI_MAX)
    {
        v.add(
            field,
            format!("every item needs a uri (at most {EVIDENCE_URI_MAX} bytes)"),
        );
    }
}

/// The `request_id` every mutating call carries: a UUID.
pub fn request_id(v: &mut Violations, raw: &str) {
    v.check("request_id", idempotency::parse_request_id(raw));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(check: impl FnOnce(&mut Violations)) -> Vec<String> {
        let mut v = Violations::new();
        check(&mut v);
        match v.finish() {
            Ok(()) => Vec::new(),
            Err(crate::Error::InvalidArgument(f)) => f.into_iter().map(|f| f.field).collect(),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn tracking_numbers() {
        assert!(is_tracking_number("SF-1234567890"));
        assert!(is_tracking_number(&"9".repeat(64)));
        assert!(!is_tracking_number(&"9".repeat(65)));
        assert!(!is_tracking_number(""));
        assert!(!is_tracking_number("SF 123"));
        assert_eq!(fields(|v| tracking_number(v, "t", "a b")), ["t"]);
    }

    #[test]
    fn carrier_codes_and_case_names() {
        assert!(fields(|v| carrier_code(v, "c", "sf")).is_empty());
        assert_eq!(fields(|v| carrier_code(v, "c", "")), ["c"]);
        assert_eq!(fields(|v| carrier_code(v, "c", &"x".repeat(33))), ["c"]);
        for bad in ["s/f", "s f", "顺丰"] {
            assert_eq!(fields(|v| carrier_code(v, "c", bad)), ["c"], "{bad}");
        }
        assert!(fields(|v| carrier_code(v, "c", "SF-Express")).is_empty());
        assert!(fields(|v| case_name(v, "n", "returns/123")).is_empty());
        for bad in [
            "returns",
            "/1",
            "returns/",
            &format!("r/{}", "1".repeat(200)),
        ] {
            assert_eq!(fields(|v| case_name(v, "n", bad)), ["n"], "{bad}");
        }
    }

    #[test]
    fn text_and_evidence() {
        assert!(fields(|v| text(v, "t", "", 3)).is_empty());
        assert_eq!(fields(|v| text(v, "t", "abcd", 3)), ["t"]);
        assert_eq!(fields(|v| required_text(v, "t", "  ", 3)), ["t"]);
        assert_eq!(fields(|v| required_text(v, "t", "abcd", 3)), ["t"]);
        let item = |uri: &str| EvidenceRef {
            uri: uri.into(),
            ..Default::default()
        };
        assert!(fields(|v| evidence(v, "e", &[item("https://x/1.jpg")])).is_empty());
        assert_eq!(fields(|v| evidence(v, "e", &[item("")])), ["e"]);
        assert_eq!(fields(|v| evidence(v, "e", &vec![item("u"); 21])), ["e"]);
    }
}
