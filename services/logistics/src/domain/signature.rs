//! Webhook signatures: lower-case hex HMAC-SHA256(secret, timestamp + "." + raw body),
//! checked in constant time against every active secret of the partner (rotation with
//! an overlap), and a timestamp window against replays.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Why a signed request is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A header is missing or malformed.
    Malformed(&'static str),
    /// The timestamp is outside the tolerance window.
    Stale,
    /// No active secret produces this signature.
    BadSignature,
}

/// The signature of `body` sent at `timestamp` under `secret`.
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Verifies `signature` over `timestamp` and `body` against any of `secrets`, with
/// `now` and `tolerance_secs` bounding the timestamp.
pub fn verify(
    secrets: &[String],
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), Refusal> {
    let sent: i64 = timestamp
        .parse()
        .map_err(|_| Refusal::Malformed("X-Timestamp must be unix seconds"))?;
    if (now - sent).abs() > tolerance_secs {
        return Err(Refusal::Stale);
    }
    let given =
        hex::decode(signature).map_err(|_| Refusal::Malformed("X-Signature must be hex"))?;
    let ok = secrets.iter().any(|secret| {
        let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("any key length");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(&given).is_ok() // constant time
    });
    if ok {
        Ok(())
    } else {
        Err(Refusal::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_750_000_000;

    fn secrets(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_good_signature_verifies_under_any_active_secret() {
        let body = br#"{"eventId":"e1"}"#;
        let ts = NOW.to_string();
        let old = sign(b"old-secret", &ts, body);
        let new = sign(b"new-secret", &ts, body);
        let both = secrets(&["new-secret", "old-secret"]);
        assert_eq!(verify(&both, &ts, &old, body, NOW, 300), Ok(()));
        assert_eq!(verify(&both, &ts, &new, body, NOW, 300), Ok(()));
        // once the old secret is retired, its signatures stop working
        assert_eq!(
            verify(&secrets(&["new-secret"]), &ts, &old, body, NOW, 300),
            Err(Refusal::BadSignature)
        );
    }

    #[test]
    fn any_change_to_body_or_timestamp_breaks_it() {
        let ts = NOW.to_string();
        let sig = sign(b"s", &ts, b"body");
        let s = secrets(&["s"]);
        assert_eq!(
            verify(&s, &ts, &sig, b"body!", NOW, 300),
            Err(Refusal::BadSignature)
        );
        let ts2 = (NOW + 1).to_string();
        assert_eq!(
            verify(&s, &ts2, &sig, b"body", NOW, 300),
            Err(Refusal::BadSignature)
        );
    }

    #[test]
    fn stale_and_future_timestamps_are_refused() {
        let s = secrets(&["s"]);
        for sent in [NOW - 301, NOW + 301] {
            let ts = sent.to_string();
            let sig = sign(b"s", &ts, b"b");
            assert_eq!(verify(&s, &ts, &sig, b"b", NOW, 300), Err(Refusal::Stale));
        }
        let ts = (NOW - 300).to_string();
        let sig = sign(b"s", &ts, b"b");
        assert_eq!(verify(&s, &ts, &sig, b"b", NOW, 300), Ok(()));
    }

    #[test]
    fn malformed_headers_are_named() {
        let s = secrets(&["s"]);
        assert!(matches!(
            verify(&s, "yesterday", "00", b"", NOW, 300),
            Err(Refusal::Malformed(_))
        ));
        assert!(matches!(
            verify(&s, &NOW.to_string(), "zz", b"", NOW, 300),
            Err(Refusal::Malformed(_))
        ));
    }
}
