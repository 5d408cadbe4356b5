//! The CreateReturn run: buyers file no-reason returns over gRPC at a fixed concurrency
//! against the real returns service (order facts from the platform sandbox, the review
//! clock on the SLA service); the reference is pgbench inserting an equivalent request
//! row and its outbox row in one transaction.

use std::{path::Path, time::Instant};

use aftersales_proto::aftersales::{
    common::v1::Money,
    platform::v1::{
        Order, OrderLine, PutOrderRequest, sandbox_control_client::SandboxControlClient,
    },
    returns::v1::{
        CreateReturnRequest, ReturnKind, ReturnReason, returns_service_client::ReturnsServiceClient,
    },
};
use kit::auth::{Role, Tokens};

use crate::{Args, Outcome, load, pg, service};

const REFERENCE: &str = "BEGIN;\n\
INSERT INTO returns (id, state, kind, order_id, order_line_id, buyer_id, merchant_id, clock_due, doc, create_time, update_time)\n\
  VALUES (gen_random_uuid(), 1, 1, 'ref-' || :client_id, 'l1', 'buyer-1', 'merchant-1', now() + interval '48 hours',\n\
  '{\"kind\":\"ReturnRefund\",\"state\":\"Requested\",\"order_id\":\"ref\",\"order_line_id\":\"l1\",\"quantity\":1,\"buyer_id\":\"buyer-1\",\"merchant_id\":\"merchant-1\",\"category\":\"apparel\",\"region\":\"CN-31\",\"reason\":\"NoReason\",\"description\":\"\",\"evidence\":[],\"eligibility_rule\":\"no_reason_window\",\"line_amount_minor\":10000,\"currency\":\"CNY\",\"clock_seq\":1,\"shipping\":{\"payer\":\"Buyer\",\"amount_minor\":0,\"basis\":\"no_reason_buyer_pays\",\"estimate_minor\":800}}'::jsonb,\n\
  now(), now());\n\
INSERT INTO outbox (kind, topic, key, payload) VALUES ('event', 'ref', gen_random_uuid()::text, '\\x00');\n\
COMMIT;\n";

fn order(i: usize) -> Order {
    let cny = |m: i64| {
        Some(Money {
            amount_minor: m,
            currency: "CNY".into(),
        })
    };
    let ago = |secs: i64| {
        Some(prost_types::Timestamp {
            seconds: chrono::Utc::now().timestamp() - secs,
            nanos: 0,
        })
    };
    Order {
        name: format!("orders/bench-{i}"),
        buyer_id: "buyer-1".into(),
        merchant_id: "merchant-1".into(),
        region: "CN-31".into(),
        payment_ref: format!("pay-bench-{i}"),
        signed_for_time: ago(86_400),
        shipped_time: ago(3 * 86_400),
        lines: vec![OrderLine {
            id: "l1".into(),
            category: "apparel".into(),
            quantity: 1_000,
            unit_price: cny(10_000),
            paid_amount: cny(10_000_000),
            shipping_fee_paid: cny(800),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// Runs the CreateReturn benchmark.
pub async fn run(a: &Args, secret: &str) -> anyhow::Result<Outcome> {
    let stamp = chrono::Utc::now().format("%Y%m%d%H%M%S");
    let (returns_schema, sla_schema) = (
        format!("bench_returns_{stamp}"),
        format!("bench_sla_{stamp}"),
    );
    let bin = Path::new(&a.bin_dir);
    let nowhere = "http://127.0.0.1:9".to_string();
    let sandbox = service::start(bin, "platform-sandbox", "bench_sandbox", &[]).await?;
    let sla = service::start(bin, "sla", &sla_schema, &[("RETURNS_URL", nowhere.clone())]).await?;
    let env = [
        ("PLATFORM_URL", sandbox.url.clone()),
        ("SLA_URL", sla.url.clone()),
        ("REFUNDS_URL", nowhere.clone()),
        ("LOGISTICS_URL", nowhere),
        // one connection per in-flight request: commits group better at the fsync
        ("DATABASE_MAX_CONNECTIONS", a.concurrency.to_string()),
    ];
    let returns = service::start(bin, "returns", &returns_schema, &env).await?;

    let tokens = Tokens::new(secret, "aftersales");
    let service_token = tokens.mint(Role::Service, "returns", None, 3600);
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

    let channels = load::channels(&returns.url).await?;
    // The reference before and after the load; the better one counts.
    let before = pg::best_tps(
        &a.db_url,
        &returns_schema,
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
        "CreateReturn",
        move |ch, i| {
            let auth = auth.clone();
            async move {
                let mut req = tonic::Request::new(CreateReturnRequest {
                    kind: ReturnKind::ReturnRefund as i32,
                    order_id: format!("bench-{}", i % orders),
                    order_line_id: "l1".into(),
                    quantity: 1,
                    reason: ReturnReason::NoReason as i32,
                    request_id: uuid::Uuid::new_v4().to_string(),
                    ..Default::default()
                });
                req.metadata_mut().insert("authorization", auth);
                ReturnsServiceClient::new(ch)
                    .create_return(req)
                    .await
                    .map(|_| ())
            }
        },
    )
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    drop((returns, sla, sandbox));
    let stored = pg::count(
        &a.db_url,
        &format!("SELECT count(*) FROM {returns_schema}.returns WHERE order_id LIKE 'bench-%'"),
    )
    .await?;
    let reference = pg::best_tps(
        &a.db_url,
        &returns_schema,
        REFERENCE,
        a.concurrency,
        a.pgbench_seconds,
    )?
    .max(before);
    pg::drop_schema(&a.db_url, &returns_schema).await?;
    pg::drop_schema(&a.db_url, &sla_schema).await?;
    Ok(Outcome::new(
        "returns-create",
        a,
        lat,
        failed,
        stored,
        seconds,
        reference,
        "pgbench request insert + outbox insert",
    ))
}
