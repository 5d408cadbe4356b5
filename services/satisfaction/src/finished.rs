//! The cases' completion events, decoded into the finished case they report: the ones
//! that open a survey and count as a case ended on the scorecard. A return completed or
//! closed after the merchant's decision; a repair completed; a complaint closed. A
//! withdrawn or forfeited return was never decided: none.

use aftersales_proto::aftersales::{
    common::v1::{CaseContext, EventEnvelope},
    complaints::v1::ComplaintClosed,
    repairs::v1::RepairCompleted,
    returns::v1::{ReturnClosed, ReturnCompleted, ReturnKind, ReturnState},
};
use chrono::{DateTime, Utc};
use kit::time::from_ts;
use prost::Message;

use crate::domain::survey::{Finished, ServiceType};

type Ts = Option<prost_types::Timestamp>;

fn at(t: &Ts) -> Option<DateTime<Utc>> {
    t.as_ref().and_then(from_ts)
}

fn finished(
    ctx: Option<CaseContext>,
    service_type: ServiceType,
    (requested, first_response, done): (&Ts, &Ts, &Ts),
) -> Option<Finished> {
    let ctx = ctx?;
    Some(Finished {
        case_name: ctx.case_name,
        service_type,
        buyer_id: ctx.buyer_id,
        merchant_id: ctx.merchant_id,
        category: ctx.category,
        region: ctx.region,
        requested: at(requested),
        first_response: at(first_response),
        // an event without its end instant is not one this service can date: none
        finished: at(done)?,
    })
}

fn return_type(kind: i32) -> ServiceType {
    match ReturnKind::try_from(kind) {
        Ok(ReturnKind::Exchange) => ServiceType::Exchange,
        Ok(ReturnKind::RefundOnly) => ServiceType::RefundOnly,
        _ => ServiceType::Return,
    }
}

/// The finished case an event reports, if it is one that opens a survey.
pub fn opens(e: &EventEnvelope) -> anyhow::Result<Option<Finished>> {
    let data = e.data.as_slice();
    Ok(match e.r#type.as_str() {
        "aftersales.returns.v1.ReturnCompleted" => {
            let d = ReturnCompleted::decode(data)?;
            let times = (&d.request_time, &d.first_response_time, &d.complete_time);
            finished(d.context, return_type(d.kind), times)
        }
        // closed after the merchant's decision (a rejection that stood); a withdrawn or
        // forfeited request was never decided
        "aftersales.returns.v1.ReturnClosed" => {
            let d = ReturnClosed::decode(data)?;
            if d.state != ReturnState::Closed as i32 {
                return Ok(None);
            }
            let times = (&d.request_time, &d.first_response_time, &d.close_time);
            finished(d.context, return_type(d.kind), times)
        }
        "aftersales.repairs.v1.RepairCompleted" => {
            let d = RepairCompleted::decode(data)?;
            let times = (&d.request_time, &d.first_response_time, &d.complete_time);
            finished(d.context, ServiceType::Repair, times)
        }
        "aftersales.complaints.v1.ComplaintClosed" => {
            let d = ComplaintClosed::decode(data)?;
            let times = (&d.create_time, &d.first_response_time, &d.close_time);
            finished(d.context, ServiceType::Complaint, times)
        }
        _ => None,
    })
}
