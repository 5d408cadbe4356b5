//! Who may call the sandbox's ports: the table the real platform is expected to enforce,
//! so tests meet the same refusals a deployment would. Each port is open to the services
//! that use it, by name (only refunds pays out, only repairs charges; only logistics books carriers). The control
//! surface exists only in the sandbox: agents and admins drive it, and so may the
//! aftersales services' identities, which tests already hold.

use kit::auth::{Role::Agent, Rule, rule};

const ORDERS: &str = "aftersales.platform.v1.OrderDirectory";
const PAYMENTS: &str = "aftersales.platform.v1.PaymentGateway";
const NOTIFIER: &str = "aftersales.platform.v1.Notifier";
const CARRIER: &str = "aftersales.platform.v1.CarrierBooking";
const CONTROL: &str = "aftersales.platform.v1.SandboxControl";

/// The services that read order facts.
const ORDER_READERS: &[&str] = &[
    "returns",
    "repairs",
    "refunds",
    "complaints",
    "satisfaction",
];
/// The services that notify buyers and merchants: every aftersales service.
const NOTIFYING: &[&str] = &[
    "returns",
    "repairs",
    "refunds",
    "complaints",
    "satisfaction",
    "logistics",
    "sla",
];

/// The access table of the sandbox port.
pub const ACCESS: &[Rule] = &[
    rule(ORDERS, "GetOrder", &[Agent], ORDER_READERS),
    rule(PAYMENTS, "SubmitPayout", &[], &["refunds"]),
    rule(PAYMENTS, "GetPayout", &[], &["refunds"]),
    rule(PAYMENTS, "SubmitCharge", &[], &["repairs"]),
    rule(PAYMENTS, "GetCharge", &[], &["repairs"]),
    rule(NOTIFIER, "Send", &[], NOTIFYING),
    rule(CARRIER, "BookPickup", &[], &["logistics"]),
    rule(CARRIER, "CancelPickup", &[], &["logistics"]),
    rule(CONTROL, "PutOrder", &[Agent], NOTIFYING),
    rule(CONTROL, "ListNotifications", &[Agent], NOTIFYING),
    rule(CONTROL, "ListPayouts", &[Agent], NOTIFYING),
    rule(CONTROL, "ListCharges", &[Agent], NOTIFYING),
    rule(CONTROL, "SetPaymentBehaviour", &[Agent], NOTIFYING),
    rule(CONTROL, "ListPickups", &[Agent], NOTIFYING),
];
