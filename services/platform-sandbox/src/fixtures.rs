//! Orders the sandbox starts with, timed relative to start-up so the eligibility windows
//! they demonstrate stay true: signed for 2 days ago (inside 7 days), 10 days ago (outside,
//! but inside the quality period), fresh goods (special goods), and an unshipped order.

use aftersales_proto::aftersales::{
    common::v1::Money,
    platform::v1::{Order, OrderLine, SpecialGoodsFlag},
};
use prost_types::Timestamp;

fn ago(days: i64) -> Option<Timestamp> {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
        - days * 86_400;
    Some(Timestamp {
        seconds: t,
        nanos: 0,
    })
}

fn cny(minor: i64) -> Option<Money> {
    Some(Money {
        amount_minor: minor,
        currency: "CNY".into(),
    })
}

fn line(id: &str, category: &str, qty: u32, unit: i64, special: &[SpecialGoodsFlag]) -> OrderLine {
    OrderLine {
        id: id.into(),
        sku: format!("sku-{id}"),
        title: format!("{category} item {id}"),
        category: category.into(),
        special_goods: special.iter().map(|f| *f as i32).collect(),
        quantity: qty,
        unit_price: cny(unit),
        paid_amount: cny(unit * qty as i64),
        shipping_fee_paid: cny(1000),
        warranty_until: ago(-365),
    }
}

/// The fixture orders.
pub fn orders() -> Vec<Order> {
    let base = |id: &str, signed_days_ago: Option<i64>| Order {
        name: format!("orders/{id}"),
        buyer_id: "buyer-1".into(),
        merchant_id: "merchant-1".into(),
        region: "CN-31".into(),
        payment_ref: format!("pay-{id}"),
        paid_time: ago(signed_days_ago.unwrap_or(0) + 3),
        promised_ship_time: ago(signed_days_ago.unwrap_or(0) + 2),
        shipped_time: signed_days_ago.and_then(|d| ago(d + 2)),
        promised_delivery_time: signed_days_ago.and_then(ago),
        signed_for_time: signed_days_ago.and_then(ago),
        carrier_code: "SF".into(),
        tracking_number: format!("SF{id}"),
        shipping_address: None,
        shipping_insurance: true,
        cancelled: false,
        lines: Vec::new(),
        merchant_region: "CN-31".into(),
    };
    vec![
        Order {
            lines: vec![line("l1", "apparel", 2, 19_900, &[])],
            ..base("demo-1", Some(2))
        },
        Order {
            lines: vec![line("l1", "electronics", 1, 299_900, &[])],
            ..base("demo-2", Some(10))
        },
        Order {
            lines: vec![line(
                "l1",
                "fresh",
                3,
                5_900,
                &[SpecialGoodsFlag::FreshPerishable],
            )],
            ..base("demo-3", Some(1))
        },
        Order {
            lines: vec![line("l1", "books", 1, 4_900, &[])],
            ..base("demo-4", None)
        },
    ]
}
