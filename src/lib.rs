//! darlings: what on this NixOS root would be lost at the next wipe.
//!
//! Data flows one way; a module only uses modules listed above it:
//!
//! ```text
//! scan ──► snapshot ──► diff ──► classify ──► report / summary / tui
//! ```
//!
//! - [`error`]: the library's error type; every variant names its file.
//! - [`text`]: escaping of names for terminals (control chars, BiDi, bad UTF-8).
//! - [`knowledge`]: the catalogue of well-known paths and their advice (SPEC §5).
//! - [`nix`]: literal view of Nix files (rnix) and Nix string quoting.
//! - [`persistence`]: reads the whitelist in effect (module JSON, `.nix` whitelists).
//! - [`whitelist`]: writes the whitelist module of SPEC §6, merged and atomically.

pub mod error;
pub mod knowledge;
pub mod nix;
pub mod persistence;
pub mod text;
pub mod whitelist;

pub use error::{Error, Result};
