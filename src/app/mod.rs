//! The application's orchestration that the library can test: reading a
//! workspace's configuration, planning and running a build, what a build
//! reports, and green-cross's own subcommands. main.rs maps the command
//! line onto it.

pub mod build;
pub mod output;
pub mod own;
pub mod settings;
