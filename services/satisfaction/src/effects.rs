//! What a survey's steps cause elsewhere, as outbox rows in the step's own transaction:
//! the buyer told, the `satisfaction` stream's events, the window's clock on the SLA
//! service scheduled and cancelled. Every key derives from the survey, so a replayed
//! step queues nothing twice.

use aftersales_proto::aftersales::{
    common::v1::ActorRole,
    satisfaction::v1::{AlertRaised, RatingSubmitted, SurveyOpened},
};
use kit::{outbox::Batch, sla};

use crate::{domain::survey::Survey, names, render, store::alerts::Alert};

const SOURCE: &str = "satisfaction";
const TOPIC: &str = "satisfaction";

/// A new survey: SurveyOpened, the buyer asked to rate, the window's clock.
pub fn opened(out: &mut Batch, s: &Survey) {
    let name = names::name(s.id);
    let ev = SurveyOpened {
        survey: Some(render::survey(s)),
    };
    out.event(SOURCE, TOPIC, &format!("{name}:opened"), &ev);
    let params = [
        ("survey".to_string(), name.clone()),
        ("case".to_string(), s.case.case_name.clone()),
        ("expire_time".to_string(), s.expires.to_rfc3339()),
    ];
    let key = format!("{name}:notify:opened");
    out.notify(
        &key,
        (ActorRole::Buyer, &s.case.buyer_id),
        "survey_opened",
        params,
    );
    let clock = sla::Clock {
        timer_id: names::window_timer(s.id),
        subject: name,
        kind: names::WINDOW.into(),
        start: s.opened,
        span: sla::Span::After((s.expires - s.opened).to_std().unwrap_or_default()),
        remind_at: None,
        labels: sla::Labels::new(&s.case.merchant_id, sla::party::BUYER),
    };
    sla::schedule(out, &names::window_key(s.id), &clock);
}

/// Rated: RatingSubmitted, the window's clock cancelled.
pub fn rated(out: &mut Batch, s: &Survey) {
    let name = names::name(s.id);
    let ev = RatingSubmitted {
        survey: Some(render::survey(s)),
    };
    out.event(SOURCE, TOPIC, &format!("{name}:rated"), &ev);
    let key = format!("{}:cancel", names::window_key(s.id));
    sla::cancel(
        out,
        &key,
        &names::window_timer(s.id),
        format!("{name} rated"),
    );
}

/// A merchant fell below the CSAT target: AlertRaised, the merchant told.
pub fn alert_raised(out: &mut Batch, a: &Alert) {
    let name = render::alert_name(a);
    let ev = AlertRaised {
        alert: Some(render::alert(a)),
    };
    out.event(SOURCE, TOPIC, &format!("{name}:raised"), &ev);
    let params = [
        ("alert".to_string(), name.clone()),
        ("csat".to_string(), format!("{:.3}", a.value)),
        ("threshold".to_string(), format!("{:.3}", a.threshold)),
        ("ratings".to_string(), a.sample_size.to_string()),
    ];
    let key = format!("{name}:notify");
    out.notify(
        &key,
        (ActorRole::Merchant, &a.merchant_id),
        "csat_below_target",
        params,
    );
}
