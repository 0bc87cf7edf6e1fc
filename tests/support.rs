//! Helpers shared by the binary's integration tests.

use std::process::{Command, Output};

/// The trailwatch binary under test.
pub fn trailwatch() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trailwatch"));
    cmd.env_remove("TRAILWATCH_CONFIG")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    cmd
}

/// Runs `trailwatch ARGS` to completion.
pub fn run(args: &[&str]) -> Output {
    trailwatch()
        .args(args)
        .output()
        .expect("running trailwatch")
}
