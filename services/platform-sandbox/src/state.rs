//! The sandbox's memory: orders, payouts and charges (keyed by the caller's id, so a
//! refund is never paid, nor a repair charged, twice however often it is submitted), notifications, pickups and the configured
//! behaviour of the payment gateway.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, MutexGuard},
};

use aftersales_proto::aftersales::platform::v1::{
    Charge, Notification, Order, PaymentBehaviour, Payout, Pickup,
};

/// Shared sandbox state.
#[derive(Clone, Default)]
pub struct Sandbox {
    inner: Arc<Mutex<State>>,
}

/// Everything the sandbox remembers.
#[derive(Default)]
pub struct State {
    /// Orders by name (`orders/{id}`).
    pub orders: BTreeMap<String, Order>,
    /// Payouts by payout id.
    pub payouts: BTreeMap<String, Payout>,
    /// SubmitPayout calls per (payout id, refund) as the call named them, including
    /// replays and the calls a simulated outage refused (which leave no payout behind),
    /// so `ListPayouts` can count them under either of its filters.
    pub submit_calls: BTreeMap<(String, String), u32>,
    /// Charges in the order they were first submitted (one per charge id).
    pub charges: Vec<Charge>,
    /// SubmitCharge calls per reference, replays and refused calls included.
    pub charge_calls: BTreeMap<String, u32>,
    /// Notifications in the order they were sent.
    pub notifications: Vec<Notification>,
    /// Pickups by booking id.
    pub pickups: BTreeMap<String, Pickup>,
    /// How the payment gateway behaves.
    pub behaviour: PaymentBehaviour,
}

impl Sandbox {
    /// A sandbox preloaded with the fixture orders.
    pub fn with_fixtures() -> Self {
        let sandbox = Self::default();
        {
            let mut s = sandbox.lock();
            for order in crate::fixtures::orders() {
                s.orders.insert(order.name.clone(), order);
            }
        }
        sandbox
    }

    /// Locks the state (never held across an await).
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.lock().expect("sandbox state poisoned")
    }
}
