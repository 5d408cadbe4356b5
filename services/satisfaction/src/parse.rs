//! Requests checked into the values the rules take: every bad field named at once
//! (INVALID_ARGUMENT with field violations), nothing written before it passes.

use aftersales_proto::aftersales::satisfaction::v1::{
    GetAggregatesRequest, GetMerchantScorecardRequest, GroupBy as ProtoGroupBy, ListAlertsRequest,
    ListSurveysRequest, SubmitRatingRequest, SurveyState,
};
use kit::{
    auth::{Principal, Role},
    error::Violations,
    page::{self, Page},
    validate,
};
use uuid::Uuid;

use crate::{
    domain::{
        aggregate,
        scores::{DIMENSIONS, Scores},
        survey::{ServiceType, State},
    },
    names,
    store::rollups,
};

/// A comment's length limit, in characters.
pub const COMMENT_MAX: usize = 2_000;

/// SubmitRating: the survey, all five scores 1-5 (each bad one named
/// `scores.<dimension>`), a bounded comment, a request id.
pub fn rating(r: &SubmitRatingRequest) -> kit::Result<(Uuid, Scores, String)> {
    let mut v = Violations::new();
    let id = names::survey_id("name", &r.name);
    if let Err(kit::Error::InvalidArgument(bad)) = &id {
        for f in bad {
            v.add(f.field.clone(), f.description.clone());
        }
    }
    let s = r.scores.unwrap_or_default();
    let raw = [
        s.response_speed,
        s.resolution_effect,
        s.service_attitude,
        s.process_convenience,
        s.timeliness,
    ];
    let scores = match Scores::new(raw) {
        Ok(x) => Some(x),
        Err(bad) => {
            for d in bad {
                v.add(format!("scores.{d}"), "must be 1 to 5");
            }
            None
        }
    };
    debug_assert_eq!(DIMENSIONS.len(), raw.len());
    validate::text(&mut v, "comment", &r.comment, COMMENT_MAX);
    validate::request_id(&mut v, &r.request_id);
    v.finish()?;
    Ok((id?, scores.expect("checked"), r.comment.clone()))
}

/// ListSurveys: the states asked (default OPEN) and the page.
pub fn list(r: &ListSurveysRequest) -> kit::Result<(Vec<i16>, Page<Uuid>)> {
    let mut v = Violations::new();
    let page = Page::parse(&mut v, r.page_size, &r.page_token, page::parse_id);
    let mut states = Vec::new();
    for s in &r.states {
        let state = i16::try_from(*s).ok().and_then(State::from_i16);
        match state.filter(|_| *s != SurveyState::Unspecified as i32) {
            Some(s) => states.push(s as i16),
            None => v.add("states", "known states only"),
        }
    }
    if r.states.is_empty() {
        states.push(State::Open as i16);
    }
    v.finish()?;
    Ok((states, page))
}

/// The longest span an aggregate covers, in days.
pub const SPAN_MAX_DAYS: i64 = 732;

/// A span of days that ends after it starts, at most [`SPAN_MAX_DAYS`] long.
fn span_check(v: &mut Violations, from: Option<chrono::NaiveDate>, to: Option<chrono::NaiveDate>) {
    if let (Some(f), Some(t)) = (from, to) {
        if t <= f {
            v.add("end_time", "must be after start_time");
        } else if (t - f).num_days() > SPAN_MAX_DAYS {
            v.add(
                "end_time",
                format!("at most {SPAN_MAX_DAYS} days after start_time"),
            );
        }
    }
}

/// Whose figures `who` asks for (`asked`, empty: any): a merchant its own shop's only
/// (PERMISSION_DENIED for another's, its own when it names none), staff any.
fn whose(who: &Principal, asked: &str, what: &str) -> kit::Result<Option<String>> {
    if who.role != Role::Merchant {
        return Ok((!asked.is_empty()).then(|| asked.to_string()));
    }
    if !asked.is_empty() && asked != who.id {
        return Err(kit::Error::PermissionDenied(format!(
            "a merchant sees its own {what} only"
        )));
    }
    Ok(Some(who.id.clone()))
}

/// A day's start at UTC+8, as the aggregates keep days.
fn day_start(
    v: &mut Violations,
    field: &str,
    t: &Option<prost_types::Timestamp>,
) -> Option<chrono::NaiveDate> {
    let Some(t) = t else {
        v.add(field, "is required");
        return None;
    };
    // years 1970 to 9000: room for the span's arithmetic on either side
    if !(0..=221_845_392_000).contains(&t.seconds) {
        v.add(field, "out of range");
        return None;
    }
    let aligned = (t.seconds + 8 * 3_600).rem_euclid(86_400) == 0;
    if t.nanos != 0 || !aligned {
        v.add(
            field,
            "must be the start of a day at UTC+8 (aggregates are kept per day)",
        );
        return None;
    }
    let day = chrono::DateTime::from_timestamp(t.seconds, 0).map(aggregate::day_of);
    if day.is_none() {
        v.add(field, "out of range");
    }
    day
}

/// GetAggregates: the span, the filter and the split. A merchant sees its own shop only.
pub fn aggregates(
    r: &GetAggregatesRequest,
    who: &Principal,
) -> kit::Result<(
    rollups::Filter,
    aggregate::GroupBy,
    (chrono::NaiveDate, chrono::NaiveDate),
)> {
    let mut v = Violations::new();
    let from = day_start(&mut v, "start_time", &r.start_time);
    let to = day_start(&mut v, "end_time", &r.end_time);
    span_check(&mut v, from, to);
    let service_type = match r.service_type {
        0 => None,
        t => match i16::try_from(t).ok().and_then(ServiceType::from_i16) {
            Some(t) => Some(t as i16),
            None => {
                v.add("service_type", "a known service type");
                None
            }
        },
    };
    let mut by = aggregate::GroupBy::default();
    for g in &r.group_by {
        let period = match ProtoGroupBy::try_from(*g) {
            Ok(ProtoGroupBy::Merchant) => {
                by.merchant = true;
                None
            }
            Ok(ProtoGroupBy::Category) => {
                by.category = true;
                None
            }
            Ok(ProtoGroupBy::Region) => {
                by.region = true;
                None
            }
            Ok(ProtoGroupBy::ServiceType) => {
                by.service_type = true;
                None
            }
            Ok(ProtoGroupBy::Day) => Some(aggregate::Period::Day),
            Ok(ProtoGroupBy::Week) => Some(aggregate::Period::Week),
            Ok(ProtoGroupBy::Month) => Some(aggregate::Period::Month),
            _ => {
                v.add("group_by", "a known dimension");
                None
            }
        };
        if let Some(p) = period
            && by.period.replace(p).is_some_and(|q| q != p)
        {
            v.add("group_by", "one period at most (day, week or month)");
        }
    }
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let merchant_id = whose(who, &r.merchant_id, "aggregates")?;
    v.finish()?;
    let filter = rollups::Filter {
        merchant_id,
        category: opt(&r.category),
        region: opt(&r.region),
        service_type,
    };
    Ok((filter, by, (from.expect("checked"), to.expect("checked"))))
}

/// A checked ListAlerts: whose (None: any), raised since when, the page.
pub struct AlertQuery {
    pub merchant: Option<String>,
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    pub page: Page<Uuid>,
}

/// ListAlerts: the merchant (a merchant its own only), since when, the page.
pub fn alerts(r: &ListAlertsRequest, who: &Principal) -> kit::Result<AlertQuery> {
    let mut v = Violations::new();
    let page = Page::parse(&mut v, r.page_size, &r.page_token, page::parse_id);
    let since = r.start_time.as_ref().and_then(kit::time::from_ts);
    if r.start_time.is_some() && since.is_none() {
        v.add("start_time", "a valid time");
    }
    v.finish()?;
    let merchant = whose(who, &r.merchant_id, "alerts")?;
    Ok(AlertQuery {
        merchant,
        since,
        page,
    })
}

/// GetMerchantScorecard: the merchant (a merchant its own only) and the period's days
/// (default the 30 days to the end of today).
pub fn scorecard(
    r: &GetMerchantScorecardRequest,
    who: &Principal,
    now: chrono::DateTime<chrono::Utc>,
) -> kit::Result<(String, (chrono::NaiveDate, chrono::NaiveDate))> {
    let merchant = r
        .name
        .strip_prefix("merchants/")
        .and_then(|rest| rest.strip_suffix("/scorecard"))
        .filter(|m| !m.is_empty() && !m.contains('/'))
        .ok_or_else(|| kit::Error::invalid("name", "must look like merchants/{id}/scorecard"))?
        .to_string();
    let merchant = whose(who, &merchant, "scorecard")?.expect("named");
    let mut v = Violations::new();
    let to = match &r.end_time {
        None => Some(aggregate::day_of(now) + chrono::Duration::days(1)),
        t => day_start(&mut v, "end_time", t),
    };
    let from = match (&r.start_time, to) {
        (None, Some(t)) => Some(t - chrono::Duration::days(30)),
        (None, None) => None,
        (t, _) => day_start(&mut v, "start_time", t),
    };
    span_check(&mut v, from, to);
    v.finish()?;
    Ok((merchant, (from.expect("checked"), to.expect("checked"))))
}
