//! The YAML every pack file, bot file and script result is read from, and the diagnostics its
//! readers report: the layer below every compiler.
//!
//! - [`yaml`]: YAML → a [`yaml::Node`] tree with a 1-based line and column for every value;
//! - [`decode`]: `Cx`, typed reads from nodes that report what is wrong (with position and
//!   field path) instead of stopping;
//! - [`diag`]: [`diag::Diagnostic`], [`diag::Diagnostics`] and "did you mean" suggestions.

pub(crate) mod decode;
pub mod diag;
pub mod yaml;
