//! `command:` sources: run a program, without a shell, and read the value from its standard
//! output. This covers `vault kv get -field=...`, `op read op://...`, `pass show ...` and the
//! like without linking their SDKs.

use std::fmt;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use secrecy::SecretString;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};

use super::error::CredentialError;
use super::redact::Redactor;
use super::source::SourceValue;

/// Largest standard output accepted from a command; a credential is far smaller.
const MAX_STDOUT_BYTES: usize = 64 * 1024;

/// Standard error lines logged per run; the rest are counted, not shown.
const MAX_STDERR_LINES: usize = 20;

/// Characters of one standard error line that are logged.
const MAX_STDERR_LINE_CHARS: usize = 500;

/// A program and its arguments, split with POSIX shell quoting rules but run without a shell.
#[derive(Clone, PartialEq, Eq)]
pub struct CommandSource {
    program: String,
    args: Vec<String>,
    line: String,
    timeout: Duration,
}

impl CommandSource {
    /// Splits `line` into a program and its arguments. Quotes and backslashes work as in a
    /// shell; pipes, redirections and `$VARIABLES` are not interpreted.
    ///
    /// Returns what is wrong with `line` when it is empty or its quotes are unbalanced.
    pub fn parse(line: &str, timeout: Duration) -> Result<Self, String> {
        let words = shell_words::split(line).map_err(|error| {
            format!("{error}; close every quote, for example command:op read 'op://vault/rekaz/api secret'")
        })?;
        let mut words = words.into_iter();
        let Some(program) = words.next() else {
            return Err(
                "name a program, for example command:vault kv get -field=secret secret/rekaz"
                    .to_owned(),
            );
        };
        Ok(CommandSource {
            program,
            args: words.collect(),
            line: line.trim().to_owned(),
            timeout,
        })
    }

    /// Returns the program, as written.
    pub fn program(&self) -> &str {
        &self.program
    }

    /// Runs the command and returns its standard output without trailing CR/LF.
    ///
    /// Standard error is logged at WARN, at most [`MAX_STDERR_LINES`] lines, with anything the
    /// command printed on standard output removed. A command that outlives its timeout is
    /// killed together with its process group. Errors name the program and its exit status but
    /// never repeat the output.
    pub async fn run(&self) -> Result<SourceValue, CredentialError> {
        let mut child = self.spawn()?;
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();

        let finished = tokio::time::timeout(self.timeout, async {
            tokio::join!(
                read_capped(stdout, MAX_STDOUT_BYTES),
                read_capped(stderr, MAX_STDOUT_BYTES),
                child.wait()
            )
        })
        .await;

        let Ok((stdout, stderr, status)) = finished else {
            stop(&mut child).await;
            return Err(CredentialError::CommandTimedOut {
                program: self.program.clone(),
                seconds: self.timeout.as_secs_f64(),
            });
        };
        log_stderr(&self.program, &stderr.bytes, &printed_values(&stdout.bytes));
        let status = status.map_err(|error| self.spawn_error(&error))?;
        self.value_from(status, stdout)
    }

    fn spawn(&self) -> Result<Child, CredentialError> {
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // A group of its own lets a timeout kill whatever the command started, too.
        #[cfg(unix)]
        command.process_group(0);
        command.spawn().map_err(|error| self.spawn_error(&error))
    }

    fn spawn_error(&self, error: &std::io::Error) -> CredentialError {
        CredentialError::CommandNotRun {
            program: self.program.clone(),
            reason: error.to_string(),
        }
    }

    fn value_from(
        &self,
        status: ExitStatus,
        stdout: Captured,
    ) -> Result<SourceValue, CredentialError> {
        if !status.success() {
            return Err(CredentialError::CommandFailed {
                program: self.program.clone(),
                status: status.to_string(),
            });
        }
        if stdout.total > MAX_STDOUT_BYTES {
            return Err(CredentialError::CommandOutputTooLarge {
                program: self.program.clone(),
                limit: MAX_STDOUT_BYTES,
            });
        }
        let source_name = format!("command:{}", self.line);
        let mut text = String::from_utf8(stdout.bytes).map_err(|_| CredentialError::NotUtf8 {
            source_name: source_name.clone(),
        })?;

        text.truncate(text.trim_end_matches(['\r', '\n']).len());
        if text.is_empty() {
            return Err(CredentialError::Empty { source_name });
        }
        // A command's final newline is normal output, not a mistake worth a warning.
        Ok(SourceValue {
            value: SecretString::from(text),
            line_ending_removed: false,
        })
    }
}

/// Bytes read from a pipe: the first `cap` of them, and how many there were in all.
#[derive(Default)]
struct Captured {
    bytes: Vec<u8>,
    total: usize,
}

/// Reads a pipe to its end, keeping at most `cap` bytes so a chatty command cannot fill memory
/// and is never blocked on a full pipe.
async fn read_capped(pipe: Option<impl AsyncRead + Unpin>, cap: usize) -> Captured {
    let mut captured = Captured::default();
    let Some(mut pipe) = pipe else {
        return captured;
    };
    let mut chunk = vec![0u8; 8192];
    while let Ok(read) = pipe.read(&mut chunk).await {
        if read == 0 {
            break;
        }
        let room = cap.saturating_sub(captured.bytes.len());
        captured.bytes.extend_from_slice(&chunk[..read.min(room)]);
        captured.total += read;
    }
    captured
}

/// Kills the command's process group, then the command itself, and reaps it.
async fn stop(child: &mut Child) {
    #[cfg(unix)]
    if let Some(pid) = child
        .id()
        .and_then(|id| rustix::process::Pid::from_raw(id as i32))
    {
        if let Err(error) = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL)
        {
            tracing::debug!(%error, "cannot kill the command's process group");
        }
    }
    if let Err(error) = child.kill().await {
        tracing::debug!(%error, "cannot kill the command");
    }
}

/// Returns a redactor for what a command printed on standard output: the whole output and each
/// of its lines, without surrounding whitespace.
fn printed_values(stdout: &[u8]) -> Redactor {
    let text = String::from_utf8_lossy(stdout);
    let mut redactor = Redactor::new();
    redactor.add_value(text.trim());
    for line in text.lines() {
        redactor.add_value(line.trim());
    }
    redactor
}

/// Logs a command's standard error line by line, without the values in `printed`. By
/// convention, programs that print secrets print them on standard output only, but one that
/// fails may repeat them in its error messages.
fn log_stderr(program: &str, stderr: &[u8], printed: &Redactor) {
    let text = printed.redact(&String::from_utf8_lossy(stderr));
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    for line in lines.iter().take(MAX_STDERR_LINES) {
        let line: String = line.chars().take(MAX_STDERR_LINE_CHARS).collect();
        tracing::warn!(program, stderr = %line, "credential command wrote to standard error");
    }
    if lines.len() > MAX_STDERR_LINES {
        tracing::warn!(
            program,
            omitted_lines = lines.len() - MAX_STDERR_LINES,
            "credential command wrote more standard error lines than are logged"
        );
    }
}

/// Shows the command as configured, after `command:`.
impl fmt::Display for CommandSource {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.line)
    }
}

impl fmt::Debug for CommandSource {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "command:{}", self.line)
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(10);

    #[test]
    fn parse_splits_quoted_words() {
        let command =
            CommandSource::parse("op read 'op://vault/rekaz/api secret'", TIMEOUT).unwrap();
        assert_eq!(command.program(), "op");
        assert_eq!(command.args, ["read", "op://vault/rekaz/api secret"]);
    }

    #[test]
    fn parse_rejects_empty_line() {
        let problem = CommandSource::parse("   ", TIMEOUT).unwrap_err();
        assert!(problem.contains("name a program"), "{problem}");
    }

    #[test]
    fn parse_rejects_unbalanced_quote() {
        assert!(CommandSource::parse("vault kv get 'secret", TIMEOUT).is_err());
    }

    #[tokio::test]
    async fn run_strips_trailing_line_ending() {
        let command = CommandSource::parse("printf 'value\\r\\n'", TIMEOUT).unwrap();
        let value = command.run().await.unwrap();
        assert_eq!(value.value.expose_secret(), "value");
    }

    #[tokio::test]
    async fn run_reports_exit_status() {
        let command = CommandSource::parse("false", TIMEOUT).unwrap();
        let error = command.run().await.unwrap_err().to_string();
        assert!(error.contains("`false` failed (exit status: 1)"), "{error}");
    }

    #[tokio::test]
    async fn run_kills_command_at_timeout() {
        let command = CommandSource::parse("sleep 30", Duration::from_millis(100)).unwrap();
        let error = command.run().await.unwrap_err();
        assert!(
            matches!(error, CredentialError::CommandTimedOut { .. }),
            "{error}"
        );
    }

    #[test]
    fn printed_values_cover_each_line() {
        let printed = printed_values(b"first-value\nsecond-value\n");
        assert_eq!(
            printed.redact("bad second-value"),
            format!("bad {}", crate::credentials::REDACTED)
        );
    }

    #[tokio::test]
    async fn run_rejects_oversized_output() {
        let command = CommandSource::parse("head -c 70000 /dev/zero", TIMEOUT).unwrap();
        let error = command.run().await.unwrap_err();
        assert!(
            matches!(error, CredentialError::CommandOutputTooLarge { .. }),
            "{error}"
        );
    }
}
