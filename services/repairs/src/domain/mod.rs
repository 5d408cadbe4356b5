//! The repair's rules, pure (no I/O, no proto, no SQL): the warranty from the platform's
//! facts, the quote's arithmetic, the clocks and their spans, the one extension and the
//! late penalty.

pub mod clocks;
pub mod extension;
#[cfg(test)]
pub mod fixture;
pub mod kinds;
pub mod machine;
pub mod quote;
pub mod repair;
pub mod warranty;
