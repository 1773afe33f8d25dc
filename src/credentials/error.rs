//! Errors reading or checking credentials. Messages name the source, never the value.

use std::path::PathBuf;

use thiserror::Error;

use super::redact::Redactor;

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

    /// The source exists but contains nothing.
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

    /// The path names something other than a regular file, such as a device or a named pipe.
    #[error("secret file {} is {kind}, not a regular file; point the source at a file that contains only the value", path.display())]
    FileNotRegular {
        /// The file's path.
        path: PathBuf,
        /// Kind of object at the path, such as `a named pipe (FIFO)`.
        kind: &'static str,
    },

    /// The file is larger than a credential could be.
    #[error("secret file {} is larger than {limit} bytes; check that the path names the file with the value alone", path.display())]
    FileTooLarge {
        /// The file's path.
        path: PathBuf,
        /// The limit in bytes.
        limit: usize,
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

impl CredentialError {
    /// Returns the error with every known secret value removed from its texts. The messages
    /// never include a value read from a source, but a path, a program or an operating
    /// system's reason could still be a secret that was configured in the wrong place.
    pub fn redact(self, redactor: &Redactor) -> Self {
        let clean = |text: String| redactor.redact(&text);
        match self {
            CredentialError::EnvMissing { name } => {
                CredentialError::EnvMissing { name: clean(name) }
            }
            CredentialError::Empty { source_name } => CredentialError::Empty {
                source_name: clean(source_name),
            },
            CredentialError::FileUnreadable { path, reason } => CredentialError::FileUnreadable {
                path: redact_path(path, redactor),
                reason: clean(reason),
            },
            CredentialError::FileNotRegular { path, kind } => CredentialError::FileNotRegular {
                path: redact_path(path, redactor),
                kind,
            },
            CredentialError::FileTooLarge { path, limit } => CredentialError::FileTooLarge {
                path: redact_path(path, redactor),
                limit,
            },
            CredentialError::NotUtf8 { source_name } => CredentialError::NotUtf8 {
                source_name: clean(source_name),
            },
            CredentialError::CommandNotRun { program, reason } => CredentialError::CommandNotRun {
                program: clean(program),
                reason: clean(reason),
            },
            CredentialError::CommandFailed { program, status } => CredentialError::CommandFailed {
                program: clean(program),
                status,
            },
            CredentialError::CommandTimedOut { program, seconds } => {
                CredentialError::CommandTimedOut {
                    program: clean(program),
                    seconds,
                }
            }
            CredentialError::CommandOutputTooLarge { program, limit } => {
                CredentialError::CommandOutputTooLarge {
                    program: clean(program),
                    limit,
                }
            }
            CredentialError::Invalid {
                what,
                source_name,
                problem,
            } => CredentialError::Invalid {
                what,
                source_name: clean(source_name),
                problem: clean(problem),
            },
        }
    }
}

fn redact_path(path: PathBuf, redactor: &Redactor) -> PathBuf {
    let text = path.to_string_lossy();
    if !redactor.contains_secret(&text) {
        return path;
    }
    PathBuf::from(redactor.redact(&text))
}
