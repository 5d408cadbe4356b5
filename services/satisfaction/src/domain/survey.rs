//! A survey: opened once per finished case from that case's own event (the measured
//! facts, first-response and resolution time, come from it, never from the buyer),
//! answered once by that case's buyer, or expired after its window.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::scores::Scores;

/// The kind of after-sales service rated (the contract's `ServiceType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(i16)]
pub enum ServiceType {
    Return = 1,
    Exchange = 2,
    RefundOnly = 3,
    Repair = 4,
    Refund = 5,
    Complaint = 6,
}

impl ServiceType {
    pub const ALL: [Self; 6] = [
        Self::Return,
        Self::Exchange,
        Self::RefundOnly,
        Self::Repair,
        Self::Refund,
        Self::Complaint,
    ];

    pub fn from_i16(v: i16) -> Option<Self> {
        Self::ALL.into_iter().find(|t| *t as i16 == v)
    }
}

/// Where a survey is (the contract's `SurveyState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i16)]
pub enum State {
    Open = 1,
    Answered = 2,
    Expired = 3,
}

impl State {
    pub fn from_i16(v: i16) -> Option<Self> {
        [Self::Open, Self::Answered, Self::Expired]
            .into_iter()
            .find(|s| *s as i16 == v)
    }
}

/// A finished case, as its completion event tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finished {
    pub case_name: String,
    pub service_type: ServiceType,
    pub buyer_id: String,
    pub merchant_id: String,
    pub category: String,
    pub region: String,
    pub requested: Option<DateTime<Utc>>,
    pub first_response: Option<DateTime<Utc>>,
    pub finished: DateTime<Utc>,
}

/// A buyer's rating.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rating {
    pub scores: Scores,
    pub comment: String,
    pub at: DateTime<Utc>,
}

/// A survey.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Survey {
    pub id: Uuid,
    pub case: Finished,
    pub state: State,
    /// Measured: request to first response, and request to the end, when the event
    /// carried the instants.
    pub first_response: Option<Duration>,
    pub resolution: Option<Duration>,
    pub opened: DateTime<Utc>,
    pub expires: DateTime<Utc>,
    pub rating: Option<Rating>,
}

/// Why a rating was refused. Nothing changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Rated already: one rating per case.
    AlreadyRated,
    /// The survey's window closed unanswered.
    Expired,
}

/// A measured span, never negative (an event's instants out of order count as zero).
fn span(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Option<Duration> {
    Some((to? - from?).max(Duration::zero()))
}

impl Survey {
    /// The survey of `case`, opened at `now` for `window`.
    pub fn open(id: Uuid, case: Finished, now: DateTime<Utc>, window: Duration) -> Self {
        Self {
            id,
            first_response: span(case.requested, case.first_response),
            resolution: span(case.requested, Some(case.finished)),
            case,
            state: State::Open,
            opened: now,
            expires: now + window,
            rating: None,
        }
    }

    /// The buyer's rating (the caller checked it is this case's buyer).
    pub fn rate(
        &mut self,
        scores: Scores,
        comment: String,
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        match self.state {
            State::Answered => return Err(Refusal::AlreadyRated),
            State::Expired => return Err(Refusal::Expired),
            State::Open if now >= self.expires => return Err(Refusal::Expired),
            State::Open => {}
        }
        self.state = State::Answered;
        self.rating = Some(Rating {
            scores,
            comment,
            at: now,
        });
        Ok(())
    }

    /// The window closed: an open survey expires (an answered one stays answered).
    pub fn expire(&mut self) -> bool {
        if self.state != State::Open {
            return false;
        }
        self.state = State::Expired;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn finished() -> Finished {
        Finished {
            case_name: "returns/1".into(),
            service_type: ServiceType::Return,
            buyer_id: "buyer-1".into(),
            merchant_id: "merchant-1".into(),
            category: "electronics".into(),
            region: "CN-31".into(),
            requested: Some(t("2026-03-02T09:00:00Z")),
            first_response: Some(t("2026-03-02T13:30:00Z")),
            finished: t("2026-03-05T09:00:00Z"),
        }
    }

    #[test]
    fn the_measured_times_come_from_the_cases_own_instants() {
        let s = Survey::open(
            Uuid::nil(),
            finished(),
            t("2026-03-05T09:00:01Z"),
            Duration::days(30),
        );
        assert_eq!(s.first_response, Some(Duration::minutes(270)));
        assert_eq!(s.resolution, Some(Duration::days(3)));
        assert_eq!(s.expires, t("2026-04-04T09:00:01Z"));
        let mut unknown = finished();
        unknown.requested = None;
        let s = Survey::open(
            Uuid::nil(),
            unknown,
            t("2026-03-05T09:00:01Z"),
            Duration::days(30),
        );
        assert_eq!((s.first_response, s.resolution), (None, None));
    }

    #[test]
    fn one_rating_inside_the_window_and_none_after() {
        let now = t("2026-03-05T09:00:01Z");
        let mut s = Survey::open(Uuid::nil(), finished(), now, Duration::days(30));
        let scores = Scores::new([5, 4, 4, 5, 3]).unwrap();
        s.rate(scores, "ok".into(), now).unwrap();
        assert_eq!(s.state, State::Answered);
        assert_eq!(
            s.rate(scores, String::new(), now),
            Err(Refusal::AlreadyRated)
        );
        assert!(!s.expire(), "an answered survey stays answered");
        let mut late = Survey::open(Uuid::nil(), finished(), now, Duration::days(30));
        assert_eq!(
            late.rate(scores, String::new(), now + Duration::days(30)),
            Err(Refusal::Expired)
        );
        assert!(late.expire());
        assert_eq!(late.rate(scores, String::new(), now), Err(Refusal::Expired));
    }
}
