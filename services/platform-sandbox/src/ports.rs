//! The gRPC ports but the payment gateway (`payments.rs`). Each validates its input like
//! the real platform would.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aftersales_proto::aftersales::platform::v1::{
    BookPickupRequest, CancelPickupRequest, Charge, GetOrderRequest, ListChargesRequest,
    ListChargesResponse, ListNotificationsRequest, ListNotificationsResponse, ListPayoutsRequest,
    ListPayoutsResponse, ListPickupsRequest, ListPickupsResponse, Notification, Order,
    PaymentBehaviour, Payout, Pickup, PickupState, PutOrderRequest, SendRequest,
    SetPaymentBehaviourRequest,
    carrier_booking_server::{CarrierBooking, CarrierBookingServer},
    notifier_server::{Notifier, NotifierServer},
    order_directory_server::{OrderDirectory, OrderDirectoryServer},
    payment_gateway_server::PaymentGatewayServer,
    sandbox_control_server::{SandboxControl, SandboxControlServer},
};
use kit::{Error, error::Violations, page::Page};
use prost_types::Timestamp;
use tonic::{Request, Response, Status, service::Routes};

use crate::state::Sandbox;

/// All ports over one sandbox.
pub fn routes(sandbox: Sandbox) -> Routes {
    let p = Ports { sb: sandbox };
    Routes::new(OrderDirectoryServer::new(p.clone()))
        .add_service(PaymentGatewayServer::new(p.clone()))
        .add_service(NotifierServer::new(p.clone()))
        .add_service(CarrierBookingServer::new(p.clone()))
        .add_service(SandboxControlServer::new(p))
}

#[derive(Clone)]
pub(crate) struct Ports {
    pub(crate) sb: Sandbox,
}

pub(crate) fn now() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp {
        seconds: d.as_secs() as i64,
        nanos: d.subsec_nanos() as i32,
    }
}

pub(crate) fn elapsed_since(t: &Option<Timestamp>) -> Duration {
    let Some(t) = t else { return Duration::ZERO };
    let then = UNIX_EPOCH + Duration::new(t.seconds.max(0) as u64, t.nanos.max(0) as u32);
    SystemTime::now().duration_since(then).unwrap_or_default()
}

pub(crate) fn to_duration(d: &Option<prost_types::Duration>) -> Duration {
    d.as_ref()
        .map(|d| Duration::new(d.seconds.max(0) as u64, d.nanos.max(0) as u32))
        .unwrap_or_default()
}

/// Paging over an in-memory list with the suite's page rule (`kit::page`). The lists
/// only grow at their end, so a position in one is a keyset token.
fn page<T: Clone>(items: &[T], size: i32, token: &str) -> Result<(Vec<T>, String), Status> {
    let mut v = Violations::new();
    let page = Page::parse(&mut v, size, token, |t| t.parse::<usize>().ok());
    v.finish()?;
    let start = page.after.unwrap_or(0).min(items.len());
    let mut rows: Vec<(usize, T)> = items[start..]
        .iter()
        .take(page.fetch() as usize)
        .cloned()
        .enumerate()
        .map(|(i, t)| (start + i + 1, t))
        .collect();
    let next = page.finish(&mut rows, |(end, _)| end.to_string());
    Ok((rows.into_iter().map(|(_, t)| t).collect(), next))
}

#[tonic::async_trait]
impl OrderDirectory for Ports {
    async fn get_order(&self, req: Request<GetOrderRequest>) -> Result<Response<Order>, Status> {
        let name = req.into_inner().name;
        if !name.starts_with("orders/") || name.len() <= "orders/".len() {
            return Err(Error::invalid("name", "must look like orders/{id}").into());
        }
        self.sb
            .lock()
            .orders
            .get(&name)
            .cloned()
            .map(Response::new)
            .ok_or_else(|| {
                Error::NotFound {
                    resource: "order",
                    name,
                }
                .into()
            })
    }
}

#[tonic::async_trait]
impl Notifier for Ports {
    async fn send(&self, req: Request<SendRequest>) -> Result<Response<Notification>, Status> {
        let r = req.into_inner();
        let mut v = Violations::new();
        if r.notification_id.is_empty() {
            v.add(
                "notification_id",
                "is required: sends are deduplicated on it",
            );
        }
        if r.recipient.as_ref().is_none_or(|a| a.id.is_empty()) {
            v.add("recipient", "is required");
        }
        if r.template.is_empty() {
            v.add("template", "is required");
        }
        v.finish()?;
        let mut s = self.sb.lock();
        if let Some(existing) = s
            .notifications
            .iter()
            .find(|n| n.notification_id == r.notification_id)
        {
            return Ok(Response::new(existing.clone()));
        }
        let n = Notification {
            name: format!("notifications/{}", r.notification_id),
            notification_id: r.notification_id,
            recipient: r.recipient,
            channel: r.channel,
            template: r.template,
            params: r.params,
            create_time: Some(now()),
        };
        s.notifications.push(n.clone());
        Ok(Response::new(n))
    }
}

#[tonic::async_trait]
impl CarrierBooking for Ports {
    async fn book_pickup(
        &self,
        req: Request<BookPickupRequest>,
    ) -> Result<Response<Pickup>, Status> {
        let r = req.into_inner();
        let mut v = Violations::new();
        if r.booking_id.is_empty() {
            v.add("booking_id", "is required: bookings are deduplicated on it");
        }
        if r.carrier_code.is_empty() {
            v.add("carrier_code", "is required");
        }
        if r.pickup_address.is_none() {
            v.add("pickup_address", "is required");
        }
        v.finish()?;
        let mut s = self.sb.lock();
        if let Some(p) = s.pickups.get(&r.booking_id) {
            return Ok(Response::new(p.clone()));
        }
        let tracking = format!("{}{:010}", r.carrier_code, s.pickups.len() + 1);
        let p = Pickup {
            name: format!("pickups/{}", r.booking_id),
            booking_id: r.booking_id.clone(),
            carrier_code: r.carrier_code,
            tracking_number: tracking,
            pickup_address: r.pickup_address,
            destination: r.destination,
            window_start_time: r.window_start_time,
            window_end_time: r.window_end_time,
            state: PickupState::Booked as i32,
            create_time: Some(now()),
        };
        s.pickups.insert(r.booking_id, p.clone());
        Ok(Response::new(p))
    }

    async fn cancel_pickup(
        &self,
        req: Request<CancelPickupRequest>,
    ) -> Result<Response<Pickup>, Status> {
        let name = req.into_inner().name;
        let id = name
            .strip_prefix("pickups/")
            .unwrap_or_default()
            .to_string();
        let mut s = self.sb.lock();
        let p = s.pickups.get_mut(&id).ok_or_else(|| Error::NotFound {
            resource: "pickup",
            name: name.clone(),
        })?;
        p.state = PickupState::Cancelled as i32;
        Ok(Response::new(p.clone()))
    }
}

#[tonic::async_trait]
impl SandboxControl for Ports {
    async fn put_order(&self, req: Request<PutOrderRequest>) -> Result<Response<Order>, Status> {
        let order = req
            .into_inner()
            .order
            .ok_or_else(|| Error::invalid("order", "is required"))?;
        let mut v = Violations::new();
        if !order.name.starts_with("orders/") || order.name.len() <= "orders/".len() {
            v.add("order.name", "must look like orders/{id}");
        }
        if order.buyer_id.is_empty() {
            v.add("order.buyer_id", "is required");
        }
        if order.merchant_id.is_empty() {
            v.add("order.merchant_id", "is required");
        }
        for (i, l) in order.lines.iter().enumerate() {
            if l.id.is_empty() {
                v.add(format!("order.lines[{i}].id"), "is required");
            }
            if l.paid_amount.as_ref().is_none_or(|m| m.amount_minor < 0) {
                v.add(
                    format!("order.lines[{i}].paid_amount"),
                    "is required and not negative",
                );
            }
        }
        v.finish()?;
        self.sb
            .lock()
            .orders
            .insert(order.name.clone(), order.clone());
        Ok(Response::new(order))
    }

    async fn list_notifications(
        &self,
        req: Request<ListNotificationsRequest>,
    ) -> Result<Response<ListNotificationsResponse>, Status> {
        let r = req.into_inner();
        let all: Vec<Notification> = self
            .sb
            .lock()
            .notifications
            .iter()
            .filter(|n| {
                r.recipient.as_ref().is_none_or(|want| {
                    n.recipient.as_ref().is_some_and(|got| {
                        got.id == want.id && (want.role == 0 || got.role == want.role)
                    })
                }) && (r.template.is_empty() || n.template == r.template)
            })
            .cloned()
            .collect();
        let (notifications, next_page_token) = page(&all, r.page_size, &r.page_token)?;
        Ok(Response::new(ListNotificationsResponse {
            notifications,
            next_page_token,
        }))
    }

    async fn list_payouts(
        &self,
        req: Request<ListPayoutsRequest>,
    ) -> Result<Response<ListPayoutsResponse>, Status> {
        let r = req.into_inner();
        let (all, submit_calls): (Vec<Payout>, u32) = {
            let s = self.sb.lock();
            let all = s
                .payouts
                .values()
                .filter(|p| {
                    (r.payout_id.is_empty() || p.payout_id == r.payout_id)
                        && (r.refund.is_empty() || p.refund == r.refund)
                })
                .cloned()
                .collect();
            // Every call of the selected payouts, by the same filter as the payouts: a
            // refund filter counts that refund's calls only, outages and replays included.
            let calls = s
                .submit_calls
                .iter()
                .filter(|((id, refund), _)| {
                    (r.payout_id.is_empty() || *id == r.payout_id)
                        && (r.refund.is_empty() || *refund == r.refund)
                })
                .map(|(_, n)| *n)
                .sum();
            (all, calls)
        };
        let all: Vec<Payout> = all.into_iter().map(|p| self.settle(p)).collect();
        let (payouts, next_page_token) = page(&all, r.page_size, &r.page_token)?;
        Ok(Response::new(ListPayoutsResponse {
            payouts,
            next_page_token,
            submit_calls,
        }))
    }

    async fn list_charges(
        &self,
        req: Request<ListChargesRequest>,
    ) -> Result<Response<ListChargesResponse>, Status> {
        let r = req.into_inner();
        let (all, submit_calls) = {
            let s = self.sb.lock();
            let all: Vec<Charge> = s
                .charges
                .iter()
                .filter(|c| r.reference.is_empty() || c.reference == r.reference)
                .cloned()
                .collect();
            let calls = s
                .charge_calls
                .iter()
                .filter(|(reference, _)| r.reference.is_empty() || **reference == r.reference)
                .map(|(_, n)| *n)
                .sum();
            (all, calls)
        };
        let (charges, next_page_token) = page(&all, r.page_size, &r.page_token)?;
        Ok(Response::new(ListChargesResponse {
            charges,
            next_page_token,
            submit_calls,
        }))
    }

    async fn set_payment_behaviour(
        &self,
        req: Request<SetPaymentBehaviourRequest>,
    ) -> Result<Response<PaymentBehaviour>, Status> {
        let b = req.into_inner().behaviour.unwrap_or_default();
        if !(0.0..=1.0).contains(&b.failure_rate) {
            return Err(Error::invalid("behaviour.failure_rate", "must be within 0..=1").into());
        }
        self.sb.lock().behaviour = b;
        Ok(Response::new(b))
    }

    async fn list_pickups(
        &self,
        req: Request<ListPickupsRequest>,
    ) -> Result<Response<ListPickupsResponse>, Status> {
        let r = req.into_inner();
        let all: Vec<Pickup> = self
            .sb
            .lock()
            .pickups
            .values()
            .filter(|p| r.carrier_code.is_empty() || p.carrier_code == r.carrier_code)
            .cloned()
            .collect();
        let (pickups, next_page_token) = page(&all, r.page_size, &r.page_token)?;
        Ok(Response::new(ListPickupsResponse {
            pickups,
            next_page_token,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::page;

    #[test]
    fn pages_walk_the_list_once_each_and_refuse_sizes_out_of_range() {
        let items: Vec<u32> = (1..=5).collect();
        let (first, next) = page(&items, 2, "").unwrap();
        assert_eq!((first, next.as_str()), (vec![1, 2], "2"));
        let (second, next) = page(&items, 2, &next).unwrap();
        assert_eq!((second, next.as_str()), (vec![3, 4], "4"));
        let (last, next) = page(&items, 2, &next).unwrap();
        assert_eq!((last, next.as_str()), (vec![5], ""));
        let (all, next) = page(&items, 0, "").unwrap();
        assert_eq!((all.len(), next.as_str()), (5, ""));
        assert!(page(&items, 101, "").is_err());
        assert!(page(&items, 2, "x").is_err());
    }
}
