//! The application's orchestration that the library can test: reading a
//! workspace's configuration, planning and running a build, and what a
//! build reports. main.rs maps the command line onto it.

pub mod build;
pub mod output;
pub mod settings;
