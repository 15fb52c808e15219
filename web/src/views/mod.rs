//! The page's panels.

pub mod about;
pub mod common;
pub mod config;
pub mod intake;
pub mod plan;
pub mod remote;
pub mod repair;
pub mod results;
pub mod timeline;
