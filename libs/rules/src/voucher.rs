//! A lost purchase voucher (seed 001 §7.4): the order number, the payment record and
//! the logistics record stand in for it, each found in the platform's own facts (the
//! order directory), never in an upload. Returns and repairs both take a request filed
//! without one on these terms.

/// What the platform holds of a purchase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Records {
    /// A payment reference with its payment time.
    pub payment: bool,
    /// A carrier and tracking number for the order's delivery.
    pub logistics: bool,
    /// The order was shipped (an order never shipped has no logistics record to find,
    /// and needs none: the order and its payment prove it).
    pub shipped: bool,
}

/// Verifies the purchase from `records`: the records that stood in for the voucher
/// ("order", "payment_record", "logistics_record"), or the ones missing.
pub fn verify(records: Records) -> Result<Vec<&'static str>, Vec<&'static str>> {
    let mut verified_by = vec!["order"];
    let mut missing = Vec::new();
    if records.payment {
        verified_by.push("payment_record");
    } else {
        missing.push("payment_record");
    }
    if records.logistics {
        verified_by.push("logistics_record");
    } else if records.shipped {
        missing.push("logistics_record");
    }
    if missing.is_empty() {
        Ok(verified_by)
    } else {
        Err(missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: Records = Records {
        payment: true,
        logistics: true,
        shipped: true,
    };

    #[test]
    fn order_payment_and_logistics_records_stand_in_for_the_voucher() {
        assert_eq!(
            verify(ALL).unwrap(),
            ["order", "payment_record", "logistics_record"]
        );
    }

    #[test]
    fn a_missing_record_is_named_and_an_unshipped_order_needs_no_logistics_record() {
        let none = Records {
            payment: false,
            logistics: false,
            ..ALL
        };
        assert_eq!(
            verify(none).unwrap_err(),
            ["payment_record", "logistics_record"]
        );
        let unshipped = Records {
            logistics: false,
            shipped: false,
            ..ALL
        };
        assert_eq!(verify(unshipped).unwrap(), ["order", "payment_record"]);
    }
}
