//! The merchant's clocks through the real SLA service with second-long spans: a missed
//! first response is a breach the desk hears of, a missed formal answer escalates each
//! period; the merchant's answer racing its clock leaves one outcome and one audit row.

use std::time::Duration;

use crate::harness::{Suite, order, repair_point, rid};
use aftersales_proto::aftersales::{
    repairs::v1::{AcceptRepairRequest, RepairState},
    sla::v1::{GetTimerRequest, sla_service_client::SlaServiceClient},
};
use testkit::{authed, eventually};

const MERCHANT: i32 = 2;
const AGENT: i32 = 3;

#[tokio::test]
async fn missed_merchant_clocks_are_breaches_the_desk_hears_of() {
    let s = Suite::start(&[
        ("REPAIRS_CLOCK_FIRST_RESPONSE", "1s"),
        ("REPAIRS_CLOCK_FORMAL_ANSWER", "2s"),
    ])
    .await;
    s.platform.put_order(order("c-1", 30, Some(300))).await;
    let r = s.file("c-1").await;
    eventually(Duration::from_secs(20), || async {
        let desk = s.platform.told(AGENT, "repairs-desk").await;
        desk.contains(&"repair_first_response_breached".to_string())
            && desk.contains(&"repair_answer_overdue".to_string())
    })
    .await;
    assert!(
        s.platform
            .told(MERCHANT, "merchant-1")
            .await
            .contains(&"repair_answer_overdue".to_string())
    );
    let expired = "SELECT count(*) FROM {s}.audit WHERE action = 'clock_expired'";
    assert!(s.scalar(expired).await >= 2);
    // still owed: the formal answer's clock runs again
    let now = s.get(&r.name).await;
    assert_eq!(now.state, RepairState::Requested as i32);
    let clock = now.clock.unwrap();
    assert_eq!(clock.kind, "formal_answer");
    // whose clock it is, as the scorecards count it
    let timer = SlaServiceClient::new(s.sla.channel())
        .get_timer(authed(GetTimerRequest { name: clock.timer }, &s.agent))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(timer.labels["merchant_id"], "merchant-1");
    assert_eq!(timer.labels["party"], "merchant");
}

#[tokio::test]
async fn the_merchants_answer_racing_its_clock_leaves_one_outcome() {
    let s = Suite::start(&[("REPAIRS_CLOCK_FORMAL_ANSWER", "1s")]).await;
    s.platform.put_order(order("c-2", 30, Some(300))).await;
    let r = s.file("c-2").await;
    tokio::time::sleep(Duration::from_millis(900)).await;
    let calls = (0..6).map(|_| {
        let (mut c, name, who) = (s.client(), r.name.clone(), s.merchant.clone());
        tokio::spawn(async move {
            c.accept_repair(authed(
                AcceptRepairRequest {
                    name,
                    repair_address: repair_point(),
                    request_id: rid(),
                    ..Default::default()
                },
                &who,
            ))
            .await
        })
    });
    let mut ok = 0;
    for call in calls {
        if call.await.unwrap().is_ok() {
            ok += 1;
        }
    }
    assert_eq!(ok, 1, "one acceptance");
    let accepts = "SELECT count(*) FROM {s}.audit WHERE action = 'accept'";
    assert_eq!(s.scalar(accepts).await, 1);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = s.get(&r.name).await;
    assert_eq!(after.state, RepairState::Accepted as i32);
    assert_eq!(
        after.clock.unwrap().kind,
        "item_inbound",
        "a late expiry of the answer's clock changed nothing"
    );
}
