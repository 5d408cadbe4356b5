//! A minimal service built on the kit, for testing what the kit promises at the edge:
//! authentication, role rules, ownership answers, field violations, idempotency, health.
//! It implements two RPCs of the returns contract over a one-table schema.

use aftersales_proto::aftersales::returns::v1::{
    CreateReturnRequest, GetReturnRequest, Return,
    returns_service_server::{ReturnsService, ReturnsServiceServer},
};
use kit::{
    App, Ctx, Error, ServiceSpec,
    auth::{Role, Rule, principal, rule},
    error::Violations,
    idempotency::{self, Claim},
};
use sqlx::PgPool;
use tonic::{Request, Response, Status, service::Routes};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("tests/migrations");

pub const SPEC: ServiceSpec = ServiceSpec {
    name: "kitdemo",
    default_port: 50099,
    grpc_services: &["aftersales.returns.v1.ReturnsService"],
    migrator: Some(&MIGRATOR),
    access: ACCESS,
};

const SERVICE: &str = "aftersales.returns.v1.ReturnsService";

/// Two of the contract's methods are implemented and ruled; the rest have no rule, so the
/// layer keeps them closed (deny by default).
const ACCESS: &[Rule] = &[
    rule(SERVICE, "CreateReturn", &[Role::Buyer], &[]),
    rule(
        SERVICE,
        "GetReturn",
        &[Role::Buyer, Role::Merchant, Role::Agent],
        &[],
    ),
];

pub async fn setup(ctx: Ctx) -> anyhow::Result<App> {
    Ok(App {
        routes: Routes::new(ReturnsServiceServer::new(Demo { db: ctx.pool() })),
        tasks: Vec::new(),
    })
}

struct Demo {
    db: PgPool,
}

fn to_proto(id: i64, buyer: String, merchant: String, order: String, qty: i32) -> Return {
    Return {
        name: format!("returns/{id}"),
        buyer_id: buyer,
        merchant_id: merchant,
        order_id: order,
        quantity: qty as u32,
        ..Default::default()
    }
}

#[tonic::async_trait]
impl ReturnsService for Demo {
    async fn create_return(
        &self,
        req: Request<CreateReturnRequest>,
    ) -> Result<Response<Return>, Status> {
        let who = principal(&req)?;
        let r = req.into_inner();
        let mut v = Violations::new();
        v.check("request_id", idempotency::parse_request_id(&r.request_id));
        if r.order_id.is_empty() {
            v.add("order_id", "is required");
        }
        if r.quantity == 0 {
            v.add("quantity", "must be at least 1");
        }
        v.finish()?;
        let caller = who.caller_key();
        let method = "CreateReturn";
        let mut tx = self.db.begin().await.map_err(Error::from)?;
        if let Claim::Replay(bytes) =
            idempotency::claim(&mut tx, &caller, method, &r.request_id, &r).await?
        {
            return Ok(Response::new(idempotency::decode_replay(&bytes)?));
        }
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO demo_cases (buyer_id, merchant_id, order_id, quantity) VALUES ($1, 'm1', $2, $3) RETURNING id",
        )
        .bind(&who.id)
        .bind(&r.order_id)
        .bind(r.quantity as i32)
        .fetch_one(&mut *tx)
        .await
        .map_err(Error::from)?;
        let answer = to_proto(
            id,
            who.id.clone(),
            "m1".into(),
            r.order_id,
            r.quantity as i32,
        );
        idempotency::complete(&mut tx, &caller, method, &r.request_id, &answer).await?;
        tx.commit().await.map_err(Error::from)?;
        Ok(Response::new(answer))
    }

    async fn get_return(&self, req: Request<GetReturnRequest>) -> Result<Response<Return>, Status> {
        let who = principal(&req)?;
        let name = req.into_inner().name;
        let id: i64 = name
            .strip_prefix("returns/")
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| Error::invalid("name", "must look like returns/{id}"))?;
        let row: Option<(String, String, String, i32)> = sqlx::query_as(
            "SELECT buyer_id, merchant_id, order_id, quantity FROM demo_cases WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.db)
        .await
        .map_err(Error::from)?;
        match row {
            // Another party's case answers exactly like a missing one: nothing leaks.
            Some((buyer, merchant, order, qty)) if who.can_see_case(&buyer, &merchant) => {
                Ok(Response::new(to_proto(id, buyer, merchant, order, qty)))
            }
            _ => Err(Error::NotFound {
                resource: "return",
                name,
            }
            .into()),
        }
    }
}
