//! A merchant's after-sales policy with the platform defaults filled in, and the legal
//! floors a published policy must respect (7-day no-reason window, seed 000).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::case::Address;

/// Who pays the return shipping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Payer {
    Seller = 1,
    Buyer = 2,
    ShippingInsurance = 3,
}

impl Payer {
    pub fn from_i32(v: i32) -> Option<Self> {
        Some(match v {
            1 => Self::Seller,
            2 => Self::Buyer,
            3 => Self::ShippingInsurance,
            _ => return None,
        })
    }
}

/// A policy, every value effective (defaults applied).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub no_reason_window_days: u32,
    pub no_reason_window_days_by_category: BTreeMap<String, u32>,
    /// 48 or 24.
    pub review_hours: u32,
    pub no_reason_shipping_payer: Payer,
    pub special_goods_categories: Vec<String>,
    pub exchange_allowed: bool,
    pub reject_appeal_window_days: u32,
    pub reasonable_use_days: u32,
    pub reasonable_use_days_by_category: BTreeMap<String, u32>,
    pub repair_warranty_months: u32,
    pub spare_unit_offered: bool,
    /// The default return address, told to the buyer on auto-approval.
    #[serde(default)]
    pub return_address: Option<Address>,
    /// The carriers told to the buyer on auto-approval (empty: any).
    #[serde(default)]
    pub carrier_options: Vec<String>,
    /// A declined repair quote's inspection fee, minor units (0: none), and its currency.
    #[serde(default)]
    pub repair_inspection_fee_minor: i64,
    #[serde(default)]
    pub repair_inspection_fee_currency: String,
}

/// The legal no-reason window (days).
pub const LEGAL_NO_REASON_DAYS: u32 = 7;

impl Default for Policy {
    /// The platform defaults (SPEC §3).
    fn default() -> Self {
        Self {
            no_reason_window_days: LEGAL_NO_REASON_DAYS,
            no_reason_window_days_by_category: BTreeMap::new(),
            review_hours: 48,
            no_reason_shipping_payer: Payer::Buyer,
            special_goods_categories: Vec::new(),
            exchange_allowed: true,
            reject_appeal_window_days: 5,
            reasonable_use_days: 90,
            reasonable_use_days_by_category: BTreeMap::new(),
            repair_warranty_months: 0,
            spare_unit_offered: false,
            return_address: None,
            carrier_options: Vec::new(),
            repair_inspection_fee_minor: 0,
            repair_inspection_fee_currency: String::new(),
        }
    }
}

impl Policy {
    /// The no-reason window for a category.
    pub fn no_reason_days(&self, category: &str) -> u32 {
        self.no_reason_window_days_by_category
            .get(category)
            .copied()
            .unwrap_or(self.no_reason_window_days)
    }

    /// The reasonable-use period for a category.
    pub fn reasonable_use_days(&self, category: &str) -> u32 {
        self.reasonable_use_days_by_category
            .get(category)
            .copied()
            .unwrap_or(self.reasonable_use_days)
    }

    /// Whether the merchant lists `category` as special goods.
    pub fn is_special_category(&self, category: &str) -> bool {
        self.special_goods_categories.iter().any(|c| c == category)
    }

    /// Every violation of the platform bounds, as (field, why).
    pub fn violations(&self) -> Vec<(String, String)> {
        let mut v = Vec::new();
        if self.no_reason_window_days < LEGAL_NO_REASON_DAYS {
            v.push((
                "no_reason_window_days".into(),
                "at least 7 (the law's floor)".into(),
            ));
        }
        for (cat, days) in &self.no_reason_window_days_by_category {
            if *days < LEGAL_NO_REASON_DAYS {
                v.push((
                    format!("no_reason_window_days_by_category[{cat}]"),
                    "at least 7".into(),
                ));
            }
        }
        if self.no_reason_window_days > 365 {
            v.push(("no_reason_window_days".into(), "at most 365".into()));
        }
        if !(1..=30).contains(&self.reject_appeal_window_days) {
            v.push(("reject_appeal_window_days".into(), "1 to 30 days".into()));
        }
        if !(7..=3650).contains(&self.reasonable_use_days) {
            v.push(("reasonable_use_days".into(), "7 to 3650 days".into()));
        }
        for (cat, days) in &self.reasonable_use_days_by_category {
            if !(7..=3650).contains(days) {
                v.push((
                    format!("reasonable_use_days_by_category[{cat}]"),
                    "7 to 3650 days".into(),
                ));
            }
        }
        if self.repair_warranty_months > 120 {
            v.push(("repair_warranty_months".into(), "at most 120".into()));
        }
        let fee = self.repair_inspection_fee_minor;
        if fee < 0 {
            v.push(("repair_inspection_fee".into(), "not negative".into()));
        } else if fee > 0 && rules::Currency::parse(&self.repair_inspection_fee_currency).is_none()
        {
            v.push((
                "repair_inspection_fee.currency".into(),
                "an ISO-4217 code with the fee".into(),
            ));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_spec_and_legal() {
        let p = Policy::default();
        assert_eq!(
            (
                p.no_reason_window_days,
                p.review_hours,
                p.reject_appeal_window_days
            ),
            (7, 48, 5)
        );
        assert!(p.violations().is_empty());
    }

    #[test]
    fn a_merchant_cannot_publish_less_than_seven_days() {
        let mut p = Policy {
            no_reason_window_days: 6,
            ..Policy::default()
        };
        p.no_reason_window_days_by_category
            .insert("apparel".into(), 3);
        let fields: Vec<_> = p.violations().into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                "no_reason_window_days",
                "no_reason_window_days_by_category[apparel]"
            ]
        );
    }

    #[test]
    fn an_inspection_fee_is_not_negative_and_names_its_currency() {
        let fee = |minor: i64, currency: &str| Policy {
            repair_inspection_fee_minor: minor,
            repair_inspection_fee_currency: currency.into(),
            ..Policy::default()
        };
        let fields =
            |p: Policy| -> Vec<String> { p.violations().into_iter().map(|(f, _)| f).collect() };
        assert_eq!(fields(fee(-1, "CNY")), ["repair_inspection_fee"]);
        assert_eq!(fields(fee(3_000, "")), ["repair_inspection_fee.currency"]);
        assert!(fields(fee(3_000, "CNY")).is_empty());
        assert!(fields(fee(0, "")).is_empty(), "none");
    }

    #[test]
    fn longer_windows_per_category_apply() {
        let mut p = Policy {
            no_reason_window_days: 7,
            ..Policy::default()
        };
        p.no_reason_window_days_by_category
            .insert("apparel".into(), 15);
        assert_eq!(p.no_reason_days("apparel"), 15);
        assert_eq!(p.no_reason_days("electronics"), 7);
    }
}
