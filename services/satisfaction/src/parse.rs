//! Requests checked into the values the rules take: every bad field named at once
//! (INVALID_ARGUMENT with field violations), nothing written before it passes.

use aftersales_proto::aftersales::satisfaction::v1::{
    ListSurveysRequest, SubmitRatingRequest, SurveyState,
};
use kit::{
    error::Violations,
    page::{self, Page},
    validate,
};
use uuid::Uuid;

use crate::{
    domain::{
        scores::{DIMENSIONS, Scores},
        survey::State,
    },
    names,
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
        match State::from_i16(*s as i16).filter(|_| *s != SurveyState::Unspecified as i32) {
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
