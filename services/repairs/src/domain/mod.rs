//! The repair's rules, pure (no I/O, no proto, no SQL): the warranty from the platform's
//! facts, the quote's arithmetic, the clocks and their spans, the one extension and the
//! late penalty.

pub mod clocks;
pub mod extension;
pub mod quote;
pub mod warranty;
