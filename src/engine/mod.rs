//! The engine: the only place that spawns processes or talks to Docker.
//! It checks the engine, prepares the build contexts, runs
//! `docker buildx build`, filters its output and keeps all of it.
//!
//! One concern a module: `detect` (which docker CLI, and how it is called),
//! `api` (the engine's version through its API), `check` (whether it can
//! build), `host_paths` (what the configuration names on the host),
//! `contexts` (the build contexts), `buildx` (the command lines),
//! `progress` (the filter of BuildKit's output), `builds` (running a
//! build) and `run` (running the built binary). Their items are used from
//! here: `engine::Engine`, `engine::build`, ...

pub mod builder;
pub mod child;
pub mod doctor;
pub mod host;
pub mod logs;

mod api;
mod builds;
mod buildx;
mod check;
mod contexts;
mod detect;
mod host_paths;
mod progress;
mod run;
pub mod vendor;

pub use builds::{BuildOutcome, build, build_custom_image, interrupt_flag};
pub use buildx::{Export, IMAGE_LABEL, buildx_args, custom_image_args};
pub use check::{MIN_BUILDKIT, MIN_ENGINE_FOR_DOCKER_DRIVER, parse_buildkit_version};
pub use contexts::{Contexts, prepare_contexts};
pub use detect::Engine;
pub use run::{docker_run_args, run_binary};

use check::inspect_field;
