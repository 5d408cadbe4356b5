//! Aggregates checked against a brute-force recomputation from the raw ratings and
//! events, on generated data: cases of several merchants, categories, regions and
//! service types finished over four weeks, most of them rated; every figure of every
//! group, for several splits, equal to what the raw data says.

use std::collections::BTreeMap;

use aftersales_proto::aftersales::{
    complaints::v1::ComplaintClosed,
    repairs::v1::RepairCompleted,
    returns::v1::{ReturnCompleted, ReturnKind},
    satisfaction::v1::{
        Aggregate, GetAggregatesRequest, GetAggregatesResponse, GroupBy, ServiceType,
    },
};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use kit::auth::Role;
use satisfaction::domain::rollup::BOUNDS;
use testkit::{authed, envelope, eventually};
use tonic::Code;

use crate::harness::{Suite, rating};

/// A deterministic generator (xorshift64), so a failure reproduces.
struct Gen(u64);

impl Gen {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// One generated case, as the raw data the brute force works from.
#[derive(Clone, Debug)]
struct Case {
    name: String,
    merchant: String,
    category: String,
    region: String,
    service_type: i32,
    finished: DateTime<Utc>,
    first_response: i64,
    resolution: i64,
    scores: Option<[u32; 5]>,
}

fn ts(t: DateTime<Utc>) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    })
}

fn day_of(t: DateTime<Utc>) -> NaiveDate {
    (t + Duration::hours(8)).date_naive()
}

fn day_start(d: NaiveDate) -> prost_types::Timestamp {
    let t = d.and_hms_opt(0, 0, 0).unwrap().and_utc() - Duration::hours(8);
    ts(t).unwrap()
}

fn context(c: &Case) -> Option<aftersales_proto::aftersales::common::v1::CaseContext> {
    Some(aftersales_proto::aftersales::common::v1::CaseContext {
        case_name: c.name.clone(),
        buyer_id: "buyer-1".into(),
        merchant_id: c.merchant.clone(),
        category: c.category.clone(),
        region: c.region.clone(),
        ..Default::default()
    })
}

async fn announce(s: &Suite, c: &Case) {
    let requested = ts(c.finished - Duration::seconds(c.resolution));
    let answered = ts(c.finished - Duration::seconds(c.resolution - c.first_response));
    let done = ts(c.finished);
    let e = match c.service_type {
        x if x == ServiceType::Repair as i32 => envelope(
            "repairs",
            &c.name,
            &RepairCompleted {
                context: context(c),
                request_time: requested,
                first_response_time: answered,
                complete_time: done,
                ..Default::default()
            },
        ),
        x if x == ServiceType::Complaint as i32 => envelope(
            "complaints",
            &c.name,
            &ComplaintClosed {
                context: context(c),
                create_time: requested,
                first_response_time: answered,
                close_time: done,
                ..Default::default()
            },
        ),
        _ => envelope(
            "returns",
            &c.name,
            &ReturnCompleted {
                context: context(c),
                kind: ReturnKind::ReturnRefund as i32,
                request_time: requested,
                first_response_time: answered,
                complete_time: done,
                ..Default::default()
            },
        ),
    };
    let topic = e.source.clone();
    s.announce(&topic, &e).await;
}

fn generate(n: usize, now: DateTime<Utc>) -> Vec<Case> {
    let mut g = Gen(0x9E37_79B9_7F4A_7C15);
    let types = [
        ServiceType::Return as i32,
        ServiceType::Repair as i32,
        ServiceType::Complaint as i32,
    ];
    let prefix = |t: i32| match t {
        x if x == ServiceType::Repair as i32 => "repairs",
        x if x == ServiceType::Complaint as i32 => "complaints",
        _ => "returns",
    };
    (0..n)
        .map(|i| {
            let service_type = types[g.next(3) as usize];
            let resolution = 60 + g.next(6 * 86_400) as i64;
            let scores = (g.next(10) < 8).then(|| {
                // skewed to satisfied, with a tail
                [0; 5].map(|_| 1 + (g.next(5) + g.next(5)).div_ceil(2).min(4) as u32)
            });
            Case {
                name: format!("{}/gen-{i}", prefix(service_type)),
                merchant: format!("m{}", g.next(4)),
                category: format!("cat{}", g.next(3)),
                region: format!("CN-{}", 31 + g.next(3)),
                service_type,
                finished: now - Duration::seconds(60 + g.next(27 * 86_400) as i64),
                first_response: g.next(resolution as u64) as i64,
                resolution,
                scores,
            }
        })
        .collect()
}

/// The bound of the bucket of the value at rank ceil(q n) of `values`, computed from
/// the raw values (None when empty or past the last bound).
fn quantile(values: &mut [i64], q: f64) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort();
    let rank = ((q * values.len() as f64).ceil() as usize).max(1);
    let v = values[rank - 1];
    BOUNDS.iter().copied().find(|b| v <= *b)
}

/// Key of a case under a split: (merchant, category, region, type, period start).
type Key = (String, String, String, i32, NaiveDate);

fn key(c: &Case, by: &[GroupBy], from: NaiveDate) -> Key {
    let has = |g: GroupBy| by.contains(&g);
    let d = day_of(c.finished);
    let period = if has(GroupBy::Day) {
        d
    } else if has(GroupBy::Week) {
        (d - Duration::days(i64::from(d.weekday().num_days_from_monday()))).max(from)
    } else if has(GroupBy::Month) {
        d.with_day(1).unwrap().max(from)
    } else {
        from
    };
    (
        if has(GroupBy::Merchant) {
            c.merchant.clone()
        } else {
            String::new()
        },
        if has(GroupBy::Category) {
            c.category.clone()
        } else {
            String::new()
        },
        if has(GroupBy::Region) {
            c.region.clone()
        } else {
            String::new()
        },
        if has(GroupBy::ServiceType) {
            c.service_type
        } else {
            0
        },
        period,
    )
}

/// What the raw data says of one group.
fn expected(cases: &[&Case]) -> Aggregate {
    let rated: Vec<[u32; 5]> = cases.iter().filter_map(|c| c.scores).collect();
    let n = rated.len() as f64;
    let satisfied = rated.iter().filter(|s| s.iter().sum::<u32>() >= 20).count();
    let dim = |i: usize| {
        (!rated.is_empty()).then(|| {
            aftersales_proto::aftersales::satisfaction::v1::DimensionStats {
                mean: rated.iter().map(|s| u64::from(s[i])).sum::<u64>() as f64 / n,
                satisfied_share: rated.iter().filter(|s| s[i] >= 4).count() as f64 / n,
            }
        })
    };
    let dur = |s: Option<i64>| {
        s.map(|s| prost_types::Duration {
            seconds: s,
            nanos: 0,
        })
    };
    let mut fr: Vec<i64> = cases.iter().map(|c| c.first_response).collect();
    let mut re: Vec<i64> = cases.iter().map(|c| c.resolution).collect();
    let mean = |v: &[i64]| (!v.is_empty()).then(|| v.iter().sum::<i64>() / v.len() as i64);
    Aggregate {
        surveys: cases.len() as u32,
        ratings: rated.len() as u32,
        satisfied_ratings: satisfied as u32,
        csat: if rated.is_empty() {
            0.0
        } else {
            satisfied as f64 / n
        },
        response_speed: dim(0),
        resolution_effect: dim(1),
        service_attitude: dim(2),
        process_convenience: dim(3),
        timeliness: dim(4),
        mean_first_response_time: dur(mean(&fr)),
        mean_resolution_time: dur(mean(&re)),
        median_first_response_time: dur(quantile(&mut fr, 0.5)),
        p90_first_response_time: dur(quantile(&mut fr, 0.9)),
        median_resolution_time: dur(quantile(&mut re, 0.5)),
        p90_resolution_time: dur(quantile(&mut re, 0.9)),
        ..Default::default()
    }
}

#[tokio::test]
async fn aggregates_equal_a_brute_force_recomputation_from_the_raw_ratings() {
    let s = Suite::start(&[]).await;
    let now = Utc::now();
    let cases = generate(1_200, now);
    for c in &cases {
        announce(&s, c).await;
    }
    eventually(std::time::Duration::from_secs(60), || async {
        s.scalar("SELECT count(*) FROM {s}.surveys").await == cases.len() as i64
    })
    .await;
    // the buyer rates, 16 at a time
    let names: BTreeMap<String, String> = s
        .world
        .pairs(
            "satisfaction",
            "SELECT case_name, 'surveys/' || id FROM {s}.surveys",
        )
        .await
        .into_iter()
        .collect();
    let rated: Vec<(String, [u32; 5])> = cases
        .iter()
        .filter_map(|c| c.scores.map(|sc| (names[&c.name].clone(), sc)))
        .collect();
    for chunk in rated.chunks(16) {
        let calls: Vec<_> = chunk
            .iter()
            .map(|(name, sc)| {
                let (mut c, req, who) = (s.client(), rating(name, *sc), s.buyer.clone());
                tokio::spawn(async move { c.submit_rating(authed(req, &who)).await })
            })
            .collect();
        for call in calls {
            call.await.unwrap().unwrap();
        }
    }
    let from = day_of(now) - Duration::days(28);
    let to = day_of(now) + Duration::days(1);
    let agent = s.agent.clone();
    let ask = |by: Vec<GroupBy>, merchant: &str| {
        let (mut c, token) = (s.client(), agent.clone());
        let req = GetAggregatesRequest {
            start_time: Some(day_start(from)),
            end_time: Some(day_start(to)),
            merchant_id: merchant.into(),
            group_by: by.into_iter().map(|g| g as i32).collect(),
            ..Default::default()
        };
        async move {
            c.get_aggregates(authed(req, &token))
                .await
                .unwrap()
                .into_inner()
        }
    };
    let splits = [
        (vec![], ""),
        (vec![GroupBy::Merchant], ""),
        (vec![GroupBy::Merchant, GroupBy::Week], ""),
        (
            vec![GroupBy::Category, GroupBy::Region, GroupBy::ServiceType],
            "",
        ),
        (vec![GroupBy::Day], "m1"),
        (vec![GroupBy::Month, GroupBy::ServiceType], "m2"),
    ];
    for (by, merchant) in splits {
        let got: GetAggregatesResponse = ask(by.clone(), merchant).await;
        let mut groups: BTreeMap<Key, Vec<&Case>> = BTreeMap::new();
        for c in cases
            .iter()
            .filter(|c| merchant.is_empty() || c.merchant == merchant)
        {
            groups.entry(key(c, &by, from)).or_default().push(c);
        }
        assert_eq!(got.aggregates.len(), groups.len(), "groups of {by:?}");
        for (a, (k, members)) in got.aggregates.iter().zip(&groups) {
            let got_key = (
                a.merchant_id.clone(),
                a.category.clone(),
                a.region.clone(),
                a.service_type,
                day_of(DateTime::from_timestamp(a.period_start_time.unwrap().seconds, 0).unwrap()),
            );
            assert_eq!(&got_key, k, "{by:?}");
            let want = expected(members);
            let mut a = a.clone();
            a.merchant_id.clear();
            a.category.clear();
            a.region.clear();
            a.service_type = 0;
            a.period_start_time = None;
            a.period_end_time = None;
            assert_eq!(a, want, "group {k:?} of {by:?}");
        }
    }
    // a merchant sees its own only
    let own = s.world.token(Role::Merchant, "m1");
    let req = GetAggregatesRequest {
        start_time: Some(day_start(from)),
        end_time: Some(day_start(to)),
        merchant_id: "m2".into(),
        ..Default::default()
    };
    let err = s
        .client()
        .get_aggregates(authed(req, &own))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}
