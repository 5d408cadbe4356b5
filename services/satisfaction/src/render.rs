//! Surveys as the contract shows them.

use aftersales_proto::aftersales::satisfaction::v1::{
    Rating as ProtoRating, Scores as ProtoScores, Survey as ProtoSurvey,
};
use kit::time::ts;

use crate::{domain::survey::Survey, names};

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
