//! The pure rules of satisfaction: the five scores and what CSAT counts of them, and a
//! survey's life (opened from a finished case, rated once, expired); what an
//! aggregate keeps of its ratings.

pub mod aggregate;
pub mod alert;
pub mod rollup;
pub mod scorecard;
pub mod scores;
pub mod survey;
