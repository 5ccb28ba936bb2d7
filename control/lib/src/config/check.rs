//! `dpuflow check-config`: load, validate, print the effective
//! configuration (redacted) or every error.

use super::{load, ConfigArgs, LoadContext};

/// Exit status when the configuration is invalid.
pub const EXIT_INVALID: i32 = 2;

/// Options of `dpuflow check-config`: every configuration flag.
#[derive(clap::Args, Debug)]
pub struct CheckConfigArgs {
    /// The configuration to check.
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// Runs the check against this process's environment; returns the exit
/// status: 0 when valid (summary on stdout), [`EXIT_INVALID`] otherwise
/// (every error on stderr).
pub fn check_config(args: &CheckConfigArgs) -> i32 {
    match load(&args.config, &LoadContext::from_process()) {
        Ok(config) => {
            println!("dpuflow: configuration is valid");
            print!("{}", config.redacted_summary());
            0
        }
        Err(errors) => {
            eprintln!("dpuflow: {} configuration error(s):", errors.len());
            for e in &errors {
                eprintln!("  {e}");
            }
            EXIT_INVALID
        }
    }
}
