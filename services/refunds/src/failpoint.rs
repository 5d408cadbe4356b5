//! Fault injection for the crash-recovery test, compiled only with the `failpoints`
//! feature (which only the test build enables, through the crate's dev-dependency on
//! itself): a product binary holds no hook that aborts the process.

use crate::{domain::payout::Outcome, settings::Settings};

/// `REFUNDS_FAILPOINT=crash_after_submit`: abort right after the gateway accepted a
/// payout, before the answer is recorded. The window it opens is the one exactly-once
/// payment must survive: the gateway has the payout, our database does not know.
pub fn after_submit(settings: &Settings, outcome: &Outcome) {
    if matches!(outcome, Outcome::Succeeded | Outcome::Processing)
        && settings.failpoint.as_deref() == Some("crash_after_submit")
    {
        tracing::error!("failpoint crash_after_submit: aborting");
        std::process::abort();
    }
}
