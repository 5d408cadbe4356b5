//! The pure rules of satisfaction: the five scores and what CSAT counts of them, and a
//! survey's life (opened from a finished case, rated once, expired).

pub mod scores;
pub mod survey;
