//! Sandbox implementation of the platform ports that aftersales calls but does not own:
//! `OrderDirectory`, `PaymentGateway`, `Notifier`, `CarrierBooking`, plus `SandboxControl`
//! to load orders and inspect what was paid, sent and booked. It is the only simulated part
//! of the system; state lives in memory for the life of the process.

mod access;
mod fixtures;
mod payments;
mod ports;
mod state;

use kit::{
    App, Ctx, ServiceSpec,
    auth::{Role, Tokens},
};

pub use state::Sandbox;

/// The sandbox service (port 50050, no database).
pub const SPEC: ServiceSpec = ServiceSpec {
    name: "platform-sandbox",
    default_port: 50050,
    grpc_services: &[
        "aftersales.platform.v1.OrderDirectory",
        "aftersales.platform.v1.PaymentGateway",
        "aftersales.platform.v1.Notifier",
        "aftersales.platform.v1.CarrierBooking",
        "aftersales.platform.v1.SandboxControl",
    ],
    migrator: None,
    access: access::ACCESS,
};

/// Builds the routes over a fresh sandbox holding the fixture orders.
pub async fn setup(_ctx: Ctx) -> anyhow::Result<App> {
    let sandbox = Sandbox::with_fixtures();
    Ok(App {
        routes: ports::routes(sandbox),
        tasks: Vec::new(),
    })
}

/// `token --role <role> --sub <id> [--carrier <code>] [--ttl <secs>]`.
pub fn token_command(args: &[String]) -> Result<String, String> {
    let mut role = None;
    let mut sub = None;
    let mut carrier = None;
    let mut ttl = 24 * 3600;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--role" => role = Some(value.parse::<Role>()?),
            "--sub" => sub = Some(value.clone()),
            "--carrier" => carrier = Some(value.clone()),
            "--ttl" => ttl = value.parse().map_err(|_| "--ttl takes seconds")?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    let role = role.ok_or(
        "--role is required (buyer, merchant, agent, arbitrator, admin, service, partner)",
    )?;
    let sub = sub.ok_or("--sub is required")?;
    let secret = std::env::var("AUTH_JWT_SECRET")
        .map_err(|_| "AUTH_JWT_SECRET is not set (make run writes it to .run/jwt.secret)")?;
    let issuer = std::env::var("AUTH_JWT_ISSUER").unwrap_or_else(|_| "aftersales".into());
    Ok(Tokens::new(&secret, &issuer).mint(role, &sub, carrier.as_deref(), ttl))
}
