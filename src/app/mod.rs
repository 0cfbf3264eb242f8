//! The application's orchestration that the library can test: reading a
//! workspace's configuration, and what a build reports. main.rs maps the
//! command line onto it.

pub mod output;
pub mod settings;
