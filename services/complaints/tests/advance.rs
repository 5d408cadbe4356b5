//! The platform pays first (seed 000 §一(六), seed 002): a ruling that the carrier lost
//! the parcel, or one that has the platform pay the merchant's remedy first, pays the
//! buyer now, records the advance owed by the carrier or the merchant's deposit, and the
//! recoveries recorded later add up to it and never beyond.

use std::time::Duration;

use crate::harness::{Suite, cny, rid};
use aftersales_proto::aftersales::{
    complaints::v1::{
        ClaimComplaintRequest, ComplaintState, IssueRulingRequest, Liability, Remedy, RemedyKind,
        RulingOutcome,
    },
    refunds::v1::{
        FundingParty, GetRefundRequest, RecordRecoveryRequest, RecoveryParty, Refund,
        refunds_service_client::RefundsServiceClient,
    },
};
use testkit::{authed, eventually};
use tonic::Code;

/// A ruling for the buyer with one 100.00 refund borne by `liable`; the advance it
/// records is checked to be owed by `debtor` (`from`), then recovered in two parts,
/// and a recovery beyond it refused.
async fn paid_first_and_recovered(
    liable: Liability,
    pays_first: bool,
    from: RecoveryParty,
    debtor: &str,
) {
    let s = Suite::start(&[]).await;
    let t = s.file("demo-1").await;
    let mut c = s.client();
    c.claim_complaint(authed(
        ClaimComplaintRequest {
            name: t.name.clone(),
            request_id: rid(),
        },
        &s.agent,
    ))
    .await
    .unwrap();
    c.issue_ruling(authed(
        IssueRulingRequest {
            name: t.name.clone(),
            basis: "the carrier's own record shows the parcel lost at its hub".into(),
            liability: liable as i32,
            outcome: RulingOutcome::BuyerUpheld as i32,
            remedies: vec![Remedy {
                kind: RemedyKind::Refund as i32,
                amount: cny(10_000),
                borne_by: liable as i32,
                ..Default::default()
            }],
            request_id: rid(),
            platform_pays_first: pays_first,
            ..Default::default()
        },
        &s.arbitrator,
    ))
    .await
    .unwrap();
    let paid = s
        .until(&t.name, |x| x.state == ComplaintState::Resolved as i32)
        .await;
    let refund = paid.remedies[0].execution_reference.clone();
    let mut r = RefundsServiceClient::new(s.refunds.channel());
    let get = |r: &RefundsServiceClient<_>| {
        let mut r = r.clone();
        let (name, token) = (refund.clone(), s.agent.clone());
        async move {
            r.get_refund(authed(GetRefundRequest { name }, &token))
                .await
                .unwrap()
                .into_inner()
        }
    };
    let advanced = |x: &Refund| x.advance.as_ref().is_some_and(|a| a.amount.is_some());
    eventually(Duration::from_secs(20), || async {
        advanced(&get(&r).await)
    })
    .await;
    let x = get(&r).await;
    let bears = match liable {
        Liability::Carrier => FundingParty::Carrier,
        _ => FundingParty::Merchant,
    };
    assert_eq!(x.funded_by, bears as i32, "the liable party bears it");
    let a = x.advance.unwrap();
    assert_eq!(a.recover_from, from as i32);
    assert_eq!(a.debtor_id, debtor);
    assert_eq!(a.amount.unwrap().amount_minor, 10_000);

    let recover = |minor: i64| RecordRecoveryRequest {
        name: refund.clone(),
        amount: cny(minor),
        reference: format!("sf-settlement-{minor}"),
        request_id: rid(),
    };
    for part in [6_000, 4_000] {
        r.record_recovery(authed(recover(part), &s.agent))
            .await
            .unwrap();
    }
    let x = get(&r).await;
    assert_eq!(x.advance.unwrap().recovered.unwrap().amount_minor, 10_000);
    let err = r
        .record_recovery(authed(recover(1), &s.agent))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
}

#[tokio::test]
async fn an_advance_for_a_carriers_loss_is_recovered_in_parts_and_never_beyond() {
    // owed by the original delivery's carrier
    paid_first_and_recovered(Liability::Carrier, false, RecoveryParty::Carrier, "SF").await;
}

#[tokio::test]
async fn an_advance_on_the_merchants_behalf_is_owed_by_its_deposit() {
    paid_first_and_recovered(
        Liability::Merchant,
        true,
        RecoveryParty::MerchantDeposit,
        "merchant-1",
    )
    .await;
}
