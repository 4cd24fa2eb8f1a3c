//! crlogin's code as a library: the binary (`src/main.rs`) is a thin `main` over it, and the
//! fuzz targets under `fuzz/` call `fuzzing`, which exists only in a `cargo fuzz` build
//! (`--cfg fuzzing`) and in tests. Only what those two need is public.

mod auth;
pub mod child;
pub mod ci;
pub mod cli;
pub mod commands;
mod connect_error;
mod dcred;
pub mod docker_login;
pub mod doctor;
pub mod env;
pub mod exec;
mod expiry;
pub mod files;
// Also in test builds, where its unit test runs every entry point over the seed corpus.
#[cfg(any(fuzzing, test))]
pub mod fuzzing;
mod help_examples;
pub mod helper;
pub mod k8s_secret;
mod no_credentials;
mod os;
mod plan;
#[cfg(test)]
mod proptests;
mod proxy;
mod registry;
mod registry_url;
mod report;
mod secret;
mod secrets;
mod sinks;
mod state;
mod tls;
mod tools;
mod verify;
pub mod wrapper;
