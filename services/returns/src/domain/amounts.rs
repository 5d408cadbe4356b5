//! What part of a line's payment a request is worth.

/// What `quantity` of a line's `bought` units cost, of `paid_minor` paid for the line:
/// pro rata, rounded down, so the sum over partial requests never exceeds what was paid.
pub fn pro_rata(paid_minor: i64, bought: u32, quantity: u32) -> i64 {
    if bought == 0 || quantity >= bought {
        return paid_minor;
    }
    ((paid_minor as i128 * quantity as i128) / bought as i128) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_requests_never_add_up_to_more_than_was_paid() {
        assert_eq!(pro_rata(1000, 3, 1), 333);
        assert_eq!(pro_rata(1000, 3, 2), 666);
        assert_eq!(pro_rata(1000, 3, 3), 1000);
        assert_eq!(
            pro_rata(1000, 3, 4),
            1000,
            "more than bought is the whole line"
        );
        assert_eq!(
            pro_rata(1000, 0, 1),
            1000,
            "a line without a count is whole"
        );
        assert_eq!(pro_rata(i64::MAX, 2, 1), i64::MAX / 2, "no overflow");
    }
}
