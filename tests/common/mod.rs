//! What the integration tests share: the daemon in this process ([`daemon::Daemon`]), the
//! daemon as a real process ([`process`]), a scratch PostgreSQL schema per test ([`pg`]) and a
//! TCP proxy that can cut a daemon off from its database ([`proxy`]); an HTTP server that
//! records what it gets and answers as told ([`recorder`]); text for snapshots ([`snapshot`]);
//! headless Chromium over WebDriver for the pages the daemon serves ([`browser::Browser`]).
//!
//! Each test file compiles this module on its own and uses a part of it: what one file leaves
//! unused (a helper, a re-export below) is no warning.
#![allow(dead_code, unused_imports)]

pub mod browser;
pub mod daemon;
pub mod pg;
pub mod process;
pub mod proxy;
pub mod recorder;
pub mod snapshot;

pub use browser::Browser;
pub use daemon::{root, t0, Daemon};
pub use pg::{pg_base_url, with_host_port, PgSchema};
pub use process::{spawn, spawn_store, Proc};
pub use proxy::Proxy;
