//! The public listing of closed complaints' outcomes (seed 004), anonymised: no buyer
//! id, contact, order number or free text that could carry them. What the ticket knows
//! of the complainant is struck out of its texts, and so is anything shaped like a
//! phone number, an id or an email address.

use super::ticket::Ticket;

const STRUCK: &str = "***";

/// `text` with the complainant's known details and anything that looks like personal
/// data (runs of 5+ digits, words with an `@`) struck out.
pub fn redact(t: &Ticket, text: &str) -> String {
    let mut out = text.to_string();
    let known = [
        t.contact.name.as_str(),
        t.contact.phone.as_str(),
        t.contact.email.as_str(),
        t.contact.social_account.as_str(),
        t.buyer_id.as_str(),
        t.order_id.as_str(),
        t.number.as_str(),
        t.subject_case.as_deref().unwrap_or(""),
    ];
    for k in known.iter().filter(|k| k.chars().count() >= 2) {
        out = out.replace(k, STRUCK);
    }
    let words: Vec<String> = out
        .split(' ')
        .map(|w| {
            if w.contains('@') {
                STRUCK.to_string()
            } else {
                w.to_string()
            }
        })
        .collect();
    strike_digit_runs(&words.join(" "))
}

/// Runs of five or more digits (allowing `-` and spaces inside, as phone numbers are
/// written) become `***`.
fn strike_digit_runs(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let mut j = i;
            let mut digits = 0;
            while j < chars.len()
                && (chars[j].is_ascii_digit()
                    || ((chars[j] == '-' || chars[j] == ' ')
                        && chars.get(j + 1).is_some_and(|c| c.is_ascii_digit())))
            {
                digits += chars[j].is_ascii_digit() as usize;
                j += 1;
            }
            if digits >= 5 {
                out.push_str(STRUCK);
            } else {
                out.extend(&chars[i..j]);
            }
            i = j;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// `TS20261203-000042` -> `TS2026****0042`.
pub fn masked_number(number: &str) -> String {
    let year: String = number.chars().skip(2).take(4).collect();
    let tail: String = {
        let c: Vec<char> = number.chars().collect();
        c[c.len().saturating_sub(4)..].iter().collect()
    };
    format!("TS{year}****{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ticket::Contact;

    #[test]
    fn names_phones_ids_and_emails_are_struck_out() {
        let mut t = crate::domain::fixture::ticket(chrono::Utc::now());
        t.contact = Contact {
            name: "王小明".into(),
            phone: "13900001111".into(),
            ..Contact::default()
        };
        let text = "王小明 says order demo-1 broke; call 139-0000-1111 or mail wxm@example.com, id 310101199001011234";
        let out = redact(&t, text);
        for leak in ["王小明", "demo-1", "139", "wxm@", "3101011990"] {
            assert!(!out.contains(leak), "{leak} in {out}");
        }
        assert!(out.contains("broke"), "{out}");
        assert_eq!(redact(&t, "size 42 was wrong"), "size 42 was wrong");
        assert_eq!(masked_number("TS20261203-000042"), "TS2026****0042");
    }
}
