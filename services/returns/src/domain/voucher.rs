//! A lost purchase voucher (seed 001 §7.4): the order number, the payment record and
//! the logistics record stand in for it (`rules::voucher`, the rule repairs applies
//! too), each found in the platform's own facts (the order directory), never in an
//! upload.

use chrono::{DateTime, Utc};

use super::{case::VoucherCheck, eligibility::Facts};

/// Why a purchase could not be verified without its voucher.
#[derive(Debug, PartialEq, Eq)]
pub struct Unverifiable {
    /// The records not found.
    pub missing: Vec<&'static str>,
}

/// Verifies the purchase from the order's facts. An order never shipped (cancelled
/// before shipment, not shipped in time) has no logistics record to find, and needs
/// none: the order and its payment prove it.
pub fn verify(facts: &Facts, at: DateTime<Utc>) -> Result<VoucherCheck, Unverifiable> {
    let records = rules::voucher::Records {
        payment: facts.payment_recorded,
        logistics: facts.logistics_recorded,
        shipped: facts.shipped.is_some(),
    };
    match rules::voucher::verify(records) {
        Ok(by) => Ok(VoucherCheck {
            verified_by: by.into_iter().map(String::from).collect(),
            at,
        }),
        Err(missing) => Err(Unverifiable { missing }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::eligibility::tests::facts;

    #[test]
    fn order_payment_and_logistics_records_stand_in_for_the_voucher() {
        let f = facts("2026-03-03T12:00:00+08:00");
        let check = verify(&f, f.now).unwrap();
        assert_eq!(
            check.verified_by,
            ["order", "payment_record", "logistics_record"]
        );
    }

    #[test]
    fn a_missing_record_is_named_and_an_unshipped_order_needs_no_logistics_record() {
        let mut f = facts("2026-03-03T12:00:00+08:00");
        f.payment_recorded = false;
        f.logistics_recorded = false;
        assert_eq!(
            verify(&f, f.now).unwrap_err().missing,
            ["payment_record", "logistics_record"]
        );
        f.payment_recorded = true;
        f.shipped = None;
        f.signed_for = None;
        assert_eq!(
            verify(&f, f.now).unwrap().verified_by,
            ["order", "payment_record"]
        );
    }
}
