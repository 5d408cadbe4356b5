//! What a payout attempt's outcome does to a refund: settle it, wait for settlement,
//! retry with backoff, fail it or escalate it. The worker performs the returned decision.

use std::time::Duration;

use super::refund::State;

/// What the gateway said (or did not say).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The money reached the buyer.
    Succeeded,
    /// Accepted; settlement follows.
    Processing,
    /// Declined definitively (closed account...): retrying the same payout cannot help.
    Declined(String),
    /// No answer, or a transient error: the payout may or may not exist at the gateway,
    /// so the retry must reuse the same payout id.
    Transient(String),
    /// The gateway refused the request itself (a bug or bad data): an agent must look.
    Rejected(String),
}

/// How the worker retries.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Delay after the first transient failure; doubles each time.
    pub base: Duration,
    /// Largest delay.
    pub max: Duration,
    /// Transient failures in a row before escalation (at least one, whatever is set).
    pub max_failures: i32,
    /// How often a submitted payout is polled for settlement.
    pub poll: Duration,
}

/// Which event a decision publishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// RefundSettled, and the settlement clock is cancelled.
    Settled,
    /// RefundFailed.
    Failed,
    /// RefundEscalated.
    Escalated,
}

/// The refund after an outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The new state.
    pub state: State,
    /// When the worker should look again; `None`: not automatically.
    pub next_in: Option<Duration>,
    /// Transient failures in a row, after this outcome.
    pub failures: i32,
    /// The error to show, if any.
    pub error: Option<String>,
    /// The gateway has accepted the payout (first time: record the submit time).
    pub accepted: bool,
    /// What to publish.
    pub effect: Option<Effect>,
}

/// Decides what `outcome` does to a refund in `state` with `failures` transient failures
/// in a row before it. An ESCALATED refund whose payout is in flight keeps being
/// followed: the gateway may still settle it, and then it is SETTLED like any other.
pub fn decide(state: State, failures: i32, outcome: Outcome, policy: &RetryPolicy) -> Decision {
    match outcome {
        Outcome::Succeeded => Decision {
            state: State::Settled,
            next_in: None,
            failures: 0,
            error: None,
            accepted: true,
            effect: Some(Effect::Settled),
        },
        Outcome::Processing => Decision {
            state: if state == State::Escalated {
                State::Escalated
            } else {
                State::Submitted
            },
            next_in: Some(policy.poll),
            failures: 0,
            error: None,
            accepted: true,
            effect: None,
        },
        Outcome::Declined(e) | Outcome::Rejected(e) => Decision {
            state: State::Failed,
            next_in: None,
            failures: 0,
            error: Some(e),
            accepted: false,
            effect: Some(Effect::Failed),
        },
        Outcome::Transient(e) => {
            let failures = failures + 1;
            if failures >= policy.max_failures.max(1) {
                Decision {
                    state: State::Escalated,
                    next_in: None,
                    failures,
                    error: Some(e),
                    accepted: false,
                    effect: (state != State::Escalated).then_some(Effect::Escalated),
                }
            } else {
                Decision {
                    state,
                    next_in: Some(backoff(failures, policy)),
                    failures,
                    error: Some(e),
                    accepted: false,
                    effect: None,
                }
            }
        }
    }
}

/// base × 2^(failures-1), at most `max`.
pub fn backoff(failures: i32, policy: &RetryPolicy) -> Duration {
    let exp = failures.clamp(1, 20) as u32 - 1;
    policy.base.saturating_mul(1 << exp).min(policy.max)
}

/// The audit actor id of the payout worker's changes: the gateway's answer moved the
/// refund (its audit reason is the gateway's error, shown to a merchant as its code).
pub const GATEWAY_ACTOR: &str = "payment-gateway";

/// What a gateway error shows to those who may not read the gateway's text about the
/// buyer's payment (merchants, and every event consumer): its leading code, as the worker
/// writes errors (`DECLINED: account closed`, `Unavailable: ...`), else `GATEWAY_ERROR`.
pub fn error_code(error: &str) -> &str {
    let head = error.split(':').next().unwrap_or_default().trim();
    if error.is_empty() {
        ""
    } else if !head.is_empty() && head.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        head
    } else {
        "GATEWAY_ERROR"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_code_keeps_the_code_and_drops_the_text() {
        assert_eq!(
            error_code("DECLINED: account 6222 0000 1234 closed"),
            "DECLINED"
        );
        assert_eq!(error_code("Unavailable: gateway down"), "Unavailable");
        assert_eq!(error_code("DECLINED"), "DECLINED");
        assert_eq!(
            error_code("gateway answered no payout state"),
            "GATEWAY_ERROR"
        );
        assert_eq!(error_code(": no code"), "GATEWAY_ERROR");
        assert_eq!(error_code(""), "");
    }

    const P: RetryPolicy = RetryPolicy {
        base: Duration::from_secs(1),
        max: Duration::from_secs(60),
        max_failures: 3,
        poll: Duration::from_secs(30),
    };

    #[test]
    fn success_settles_and_publishes() {
        let d = decide(State::Requested, 2, Outcome::Succeeded, &P);
        assert_eq!(d.state, State::Settled);
        assert_eq!(d.effect, Some(Effect::Settled));
        assert_eq!(d.next_in, None);
        assert!(d.accepted);
    }

    #[test]
    fn processing_waits_for_settlement() {
        let d = decide(State::Requested, 0, Outcome::Processing, &P);
        assert_eq!(
            (d.state, d.next_in, d.effect),
            (State::Submitted, Some(P.poll), None)
        );
        // an escalated refund stays escalated but is still followed
        let d = decide(State::Escalated, 0, Outcome::Processing, &P);
        assert_eq!((d.state, d.next_in), (State::Escalated, Some(P.poll)));
        let d = decide(State::Escalated, 0, Outcome::Succeeded, &P);
        assert_eq!(d.state, State::Settled);
    }

    #[test]
    fn transient_failures_back_off_then_escalate() {
        let d = decide(State::Requested, 0, Outcome::Transient("down".into()), &P);
        assert_eq!(
            (d.state, d.next_in, d.failures),
            (State::Requested, Some(Duration::from_secs(1)), 1)
        );
        let d = decide(State::Requested, 1, Outcome::Transient("down".into()), &P);
        assert_eq!(d.next_in, Some(Duration::from_secs(2)));
        let d = decide(State::Requested, 2, Outcome::Transient("down".into()), &P);
        assert_eq!(
            (d.state, d.next_in, d.effect),
            (State::Escalated, None, Some(Effect::Escalated))
        );
    }

    #[test]
    fn declines_fail_without_retry() {
        let d = decide(State::Requested, 0, Outcome::Declined("closed".into()), &P);
        assert_eq!(
            (d.state, d.next_in, d.effect),
            (State::Failed, None, Some(Effect::Failed))
        );
        assert_eq!(d.error.as_deref(), Some("closed"));
    }

    #[test]
    fn backoff_is_capped() {
        assert_eq!(backoff(1, &P), Duration::from_secs(1));
        assert_eq!(backoff(4, &P), Duration::from_secs(8));
        assert_eq!(backoff(10, &P), Duration::from_secs(60));
        assert_eq!(backoff(1000, &P), Duration::from_secs(60));
    }
}
