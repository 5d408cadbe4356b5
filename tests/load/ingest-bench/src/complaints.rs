//! The CreateComplaint run: buyers file hotline complaints over gRPC at a fixed
//! concurrency against the real complaints service (order facts from the platform
//! sandbox, the first clocks on the SLA service); the reference is pgbench inserting an
//! equivalent ticket row and its outbox row in one transaction.

use std::{path::Path, time::Instant};

use aftersales_proto::aftersales::{
    common::v1::Money,
    complaints::v1::{
        ComplaintChannel, CreateComplaintRequest,
        complaints_service_client::ComplaintsServiceClient,
    },
    platform::v1::{
        Order, OrderLine, PutOrderRequest, sandbox_control_client::SandboxControlClient,
    },
};
use kit::auth::{Role, Tokens};

use crate::{Args, Outcome, load, pg, service};

const REFERENCE: &str = "BEGIN;\n\
INSERT INTO complaints (id, number, state, buyer_id, merchant_id, order_id, priority, channel, category, region, due_time, create_time, update_time, ticket)\n\
  VALUES (gen_random_uuid(), 'REF-' || gen_random_uuid(), 1, 'buyer-1', 'merchant-1', 'ref-' || :client_id, 2, 2, 'apparel', 'CN-31', now() + interval '4 hours', now(), now(),\n\
  '{\"state\":\"Open\",\"channel\":2,\"priority\":\"Normal\",\"origin\":\"Buyer\",\"order_id\":\"ref\",\"order_line_id\":\"l1\",\"buyer_id\":\"buyer-1\",\"merchant_id\":\"merchant-1\",\"category\":\"apparel\",\"region\":\"CN-31\",\"problem\":\"the seam tore\",\"demand\":\"a refund\",\"claim_minor\":10000,\"currency\":\"CNY\",\"evidence\":[],\"remedies\":[],\"clocks\":[],\"clock_seq\":2,\"breaches\":[],\"facts\":[]}'::jsonb);\n\
INSERT INTO outbox (kind, topic, key, payload) VALUES ('event', 'ref', gen_random_uuid()::text, '\\x00');\n\
COMMIT;\n";

fn order(i: usize) -> Order {
    let cny = |m: i64| {
        Some(Money {
            amount_minor: m,
            currency: "CNY".into(),
        })
    };
    Order {
        name: format!("orders/bench-{i}"),
        buyer_id: "buyer-1".into(),
        merchant_id: "merchant-1".into(),
        region: "CN-31".into(),
        merchant_region: "CN-31".into(),
        payment_ref: format!("pay-bench-{i}"),
        lines: vec![OrderLine {
            id: "l1".into(),
            category: "apparel".into(),
            quantity: 1,
            unit_price: cny(10_000),
            paid_amount: cny(10_000),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// Runs the CreateComplaint benchmark.
pub async fn run(a: &Args, secret: &str) -> anyhow::Result<Outcome> {
    let stamp = chrono::Utc::now().format("%Y%m%d%H%M%S");
    let (schema, sla_schema) = (
        format!("bench_complaints_{stamp}"),
        format!("bench_csla_{stamp}"),
    );
    let bin = Path::new(&a.bin_dir);
    let nowhere = "http://127.0.0.1:9".to_string();
    let sandbox = service::start(bin, "platform-sandbox", "bench_csandbox", &[]).await?;
    let sla = service::start(
        bin,
        "sla",
        &sla_schema,
        &[("COMPLAINTS_URL", nowhere.clone())],
    )
    .await?;
    let env = [
        ("PLATFORM_URL", sandbox.url.clone()),
        ("SLA_URL", sla.url.clone()),
        ("REFUNDS_URL", nowhere.clone()),
        ("LOGISTICS_URL", nowhere),
        ("DATABASE_MAX_CONNECTIONS", a.concurrency.to_string()),
    ];
    let complaints = service::start(bin, "complaints", &schema, &env).await?;

    let tokens = Tokens::new(secret, "aftersales");
    let service_token = tokens.mint(Role::Service, "complaints", None, 3600);
    let buyer = tokens.mint(Role::Buyer, "buyer-1", None, 3600);
    let control = tonic::transport::Endpoint::from_shared(sandbox.url.clone())?
        .connect()
        .await?;
    for i in 0..a.shipments {
        let mut req = tonic::Request::new(PutOrderRequest {
            order: Some(order(i)),
        });
        req.metadata_mut()
            .insert("authorization", format!("Bearer {service_token}").parse()?);
        SandboxControlClient::new(control.clone())
            .put_order(req)
            .await?;
    }
    let channels = load::channels(&complaints.url).await?;
    let before = pg::best_tps(
        &a.db_url,
        &schema,
        REFERENCE,
        a.concurrency,
        a.pgbench_seconds,
    )?;
    let started = Instant::now();
    let auth: tonic::metadata::MetadataValue<_> = format!("Bearer {buyer}").parse()?;
    let orders = a.shipments;
    let (lat, failed) = load::drive(
        &channels,
        a.concurrency,
        a.requests,
        "CreateComplaint",
        move |ch, i| {
            let auth = auth.clone();
            async move {
                let mut req = tonic::Request::new(CreateComplaintRequest {
                    channel: ComplaintChannel::Hotline as i32,
                    order_id: format!("bench-{}", i % orders),
                    problem: "the seam tore on the first wash".into(),
                    demand: "a refund".into(),
                    request_id: uuid::Uuid::new_v4().to_string(),
                    ..Default::default()
                });
                req.metadata_mut().insert("authorization", auth);
                ComplaintsServiceClient::new(ch)
                    .create_complaint(req)
                    .await
                    .map(|_| ())
            }
        },
    )
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    drop((complaints, sla, sandbox));
    let stored = pg::count(
        &a.db_url,
        &format!("SELECT count(*) FROM {schema}.complaints WHERE order_id LIKE 'bench-%'"),
    )
    .await?;
    let reference = pg::best_tps(
        &a.db_url,
        &schema,
        REFERENCE,
        a.concurrency,
        a.pgbench_seconds,
    )?
    .max(before);
    pg::drop_schema(&a.db_url, &schema).await?;
    pg::drop_schema(&a.db_url, &sla_schema).await?;
    Ok(Outcome::new(
        "complaints-create",
        a,
        lat,
        failed,
        stored,
        seconds,
        reference,
        "pgbench ticket insert + outbox insert",
    ))
}
