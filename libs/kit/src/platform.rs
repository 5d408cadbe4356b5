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
