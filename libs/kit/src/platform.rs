//! The platform ports every service reads facts from, called one way.

use aftersales_proto::aftersales::platform::v1::{
    GetOrderRequest, Order, order_directory_client::OrderDirectoryClient,
};

use crate::{client::Peers, error::Error};

/// The order `order_id` from OrderDirectory (peer `platform`): NOT_FOUND when the
/// directory does not know it, UNAVAILABLE when it cannot be asked.
pub async fn order(peers: &Peers, order_id: &str) -> Result<Order, Error> {
    let name = format!("orders/{order_id}");
    let mut client = OrderDirectoryClient::new(peers.get("platform")?);
    match client
        .get_order(GetOrderRequest { name: name.clone() })
        .await
    {
        Ok(o) => Ok(o.into_inner()),
        Err(s) if s.code() == tonic::Code::NotFound => Err(Error::NotFound {
            resource: "order",
            name,
        }),
        Err(s) => Err(Error::Unavailable(format!(
            "order directory: {}",
            s.message()
        ))),
    }
}

/// The order `order_id` of `buyer`: another buyer's order does not exist for this one
/// (NOT_FOUND, as an unknown order), so a buyer cannot probe others' order numbers.
pub async fn buyers_order(peers: &Peers, order_id: &str, buyer: &str) -> Result<Order, Error> {
    match order(peers, order_id).await {
        Ok(o) if o.buyer_id == buyer => Ok(o),
        Ok(_) => Err(Error::NotFound {
            resource: "order",
            name: format!("orders/{order_id}"),
        }),
        Err(e) => Err(e),
    }
}

/// What the platform holds of `o`'s purchase (seed 001 §7.4's stand-ins for a voucher).
pub fn purchase_records(o: &Order) -> rules::voucher::Records {
    rules::voucher::Records {
        payment: !o.payment_ref.is_empty() && o.paid_time.is_some(),
        logistics: !o.carrier_code.is_empty()
            && !o.tracking_number.is_empty()
            && o.shipped_time.is_some(),
        shipped: o.shipped_time.is_some(),
    }
}

/// Filed without the purchase voucher, and the platform's records could not stand in
/// for it (seed 001 §7.4): FAILED_PRECONDITION VOUCHER_NOT_VERIFIABLE naming them.
pub fn voucher_not_verifiable(missing: &[&str]) -> Error {
    Error::FailedPrecondition {
        reason: "VOUCHER_NOT_VERIFIABLE",
        kind: "ELIGIBILITY",
        subject: "order".into(),
        description: format!(
            "without the purchase voucher the platform's records must prove the purchase; \
             not found: {}",
            missing.join(", ")
        ),
    }
}

/// `o`'s purchase verified without its voucher: the records that stood in for it, or
/// VOUCHER_NOT_VERIFIABLE.
pub fn verify_without_voucher(o: &Order) -> Result<Vec<&'static str>, Error> {
    rules::voucher::verify(purchase_records(o)).map_err(|missing| voucher_not_verifiable(&missing))
}
