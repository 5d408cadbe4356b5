//! Surveys as the contract shows them.

use aftersales_proto::aftersales::satisfaction::v1::{
    Aggregate, Alert as ProtoAlert, AlertKind, DimensionStats, Rating as ProtoRating,
    Scores as ProtoScores, Survey as ProtoSurvey,
};
use chrono::NaiveDate;
use kit::time::ts;

use crate::{
    domain::{
        aggregate::{Key, Totals},
        survey::Survey,
    },
    names,
    store::alerts::Alert,
};

fn duration(d: chrono::Duration) -> prost_types::Duration {
    prost_types::Duration {
        seconds: d.num_seconds(),
        nanos: (d.subsec_nanos()).max(0),
    }
}

pub fn survey(s: &Survey) -> ProtoSurvey {
    let c = &s.case;
    ProtoSurvey {
        name: names::name(s.id),
        case_name: c.case_name.clone(),
        service_type: c.service_type as i32,
        state: s.state as i32,
        buyer_id: c.buyer_id.clone(),
        merchant_id: c.merchant_id.clone(),
        category: c.category.clone(),
        region: c.region.clone(),
        first_response_time: s.first_response.map(duration),
        resolution_time: s.resolution.map(duration),
        rating: s.rating.as_ref().map(|r| {
            let [a, b, c, d, e] = r.scores.0.map(u32::from);
            ProtoRating {
                scores: Some(ProtoScores {
                    response_speed: a,
                    resolution_effect: b,
                    service_attitude: c,
                    process_convenience: d,
                    timeliness: e,
                }),
                comment: r.comment.clone(),
                overall: r.scores.overall(),
                submit_time: Some(ts(r.at)),
            }
        }),
        open_time: Some(ts(s.opened)),
        expire_time: Some(ts(s.expires)),
    }
}

/// A day's start at UTC+8.
pub fn day_start(d: NaiveDate) -> Option<prost_types::Timestamp> {
    let midnight = d.and_hms_opt(0, 0, 0)?.and_utc() - chrono::Duration::hours(8);
    Some(ts(midnight))
}

pub fn secs(s: Option<i64>) -> Option<prost_types::Duration> {
    s.filter(|s| *s != i64::MAX)
        .map(|s| duration(chrono::Duration::seconds(s)))
}

/// One group's aggregate.
pub fn aggregate((k, t): &(Key, Totals)) -> Aggregate {
    let dim = |i: usize| {
        t.dimension(i)
            .map(|(mean, satisfied_share)| DimensionStats {
                mean,
                satisfied_share,
            })
    };
    Aggregate {
        merchant_id: k.merchant_id.clone().unwrap_or_default(),
        category: k.category.clone().unwrap_or_default(),
        region: k.region.clone().unwrap_or_default(),
        service_type: k.service_type.map_or(0, i32::from),
        period_start_time: day_start(k.from),
        period_end_time: day_start(k.to),
        surveys: t.surveys as u32,
        ratings: t.ratings as u32,
        csat: t.csat().unwrap_or(0.0),
        response_speed: dim(0),
        resolution_effect: dim(1),
        service_attitude: dim(2),
        process_convenience: dim(3),
        timeliness: dim(4),
        mean_first_response_time: secs(t.first_response.mean()),
        mean_resolution_time: secs(t.resolution.mean()),
        median_first_response_time: secs(t.first_response.median()),
        p90_first_response_time: secs(t.first_response.p90()),
        median_resolution_time: secs(t.resolution.median()),
        p90_resolution_time: secs(t.resolution.p90()),
        satisfied_ratings: t.satisfied as u32,
    }
}

pub fn alert_name(a: &Alert) -> String {
    kit::names::format("alerts", a.id)
}

pub fn alert(a: &Alert) -> ProtoAlert {
    ProtoAlert {
        name: alert_name(a),
        kind: AlertKind::CsatBelowTarget as i32,
        merchant_id: a.merchant_id.clone(),
        value: a.value,
        threshold: a.threshold,
        sample_size: a.sample_size as u32,
        window_start_time: day_start(a.window.0),
        window_end_time: day_start(a.window.1),
        create_time: Some(ts(a.created)),
    }
}
