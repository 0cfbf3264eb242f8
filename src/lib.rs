//! green-cross: cross-compile Rust with BuildKit, a drop-in replacement for
//! `cross`. The planner and the renderer are pure; only `engine` spawns
//! processes.

pub mod app;
pub mod artifacts;
pub mod cache;
pub mod cli;
pub mod config;
pub mod darwin;
pub mod dockerfile;
pub mod dockerignore;
pub mod engine;
pub mod env;
pub mod error;
pub mod fingerprint;
pub mod guard;
pub mod lockfile;
pub mod plan;
pub mod proxy;
pub mod report;
pub mod target;
pub mod triple;
pub mod vendor;
pub mod workspace;
