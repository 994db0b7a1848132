//! An [`Explanation`](super::Explanation) for people (one block per step,
//! names escaped) and for programs (`darlings-explain/1`, one object, field
//! names as in docs/report-schema.md; docs/explain.md lists them).
//!
//! - `text`: the text for people ([`write_text`]).
//! - `json`: the `darlings-explain/1` JSON ([`write_json`]).

mod json;
mod text;

pub use json::write_json;
pub use text::write_text;
