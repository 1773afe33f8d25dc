//! Errors reading or checking credentials. Messages name the source, never the value.

use std::path::PathBuf;

use thiserror::Error;

/// A credential could not be read or is unusable.
#[derive(Debug, Error)]
pub enum CredentialError {
    /// The environment variable is not set.
    #[error(
        "environment variable {name} is not set; set it, or point {name}_FILE at a secret file"
    )]
    EnvMissing {
        /// Variable name.
        name: String,
    },

    /// The source exists but holds nothing.
    #[error("{source_name} is empty; store the value there")]
    Empty {
        /// The source, as `env:NAME`, `file:/path` or `command:...`.
        source_name: String,
    },

    /// The file could not be read.
    #[error("cannot read secret file {}: {reason}; check the path and its permissions", path.display())]
    FileUnreadable {
        /// The file's path.
        path: PathBuf,
        /// The operating system's reason.
        reason: String,
    },

    /// The bytes are not UTF-8 text.
    #[error("{source_name} is not UTF-8 text; store the value as plain text")]
    NotUtf8 {
        /// The source, as `env:NAME` or `file:/path`.
        source_name: String,
    },

    /// The program of a `command:` source could not be started or waited for.
    #[error("cannot run credential command `{program}`: {reason}; check that it is installed and on PATH, or give its full path")]
    CommandNotRun {
        /// The program, as configured.
        program: String,
        /// The operating system's reason.
        reason: String,
    },

    /// The command ran but exited unsuccessfully. Its output is never part of the message.
    #[error("credential command `{program}` failed ({status}); its standard error is logged at WARN, and running it by hand shows why")]
    CommandFailed {
        /// The program, as configured.
        program: String,
        /// The exit status, such as `exit status: 2`.
        status: String,
    },

    /// The command did not finish in time and was killed.
    #[error("credential command `{program}` did not finish within {seconds} s and was killed; raise credentials.command_timeout or find out why it hangs (a password prompt?)")]
    CommandTimedOut {
        /// The program, as configured.
        program: String,
        /// The timeout in seconds.
        seconds: f64,
    },

    /// The command wrote more than a credential could be.
    #[error("credential command `{program}` wrote more than {limit} bytes to standard output; make it print the value alone")]
    CommandOutputTooLarge {
        /// The program, as configured.
        program: String,
        /// The limit in bytes.
        limit: usize,
    },

    /// The value cannot be used as it is.
    #[error("{what} from {source_name} is invalid: {problem}")]
    Invalid {
        /// Which value: `API key`, `API secret`, `tenant id`, `username` or `password`.
        what: &'static str,
        /// The source, as `env:NAME` or `file:/path`.
        source_name: String,
        /// What is wrong and how to fix it, without the value.
        problem: String,
    },
}
