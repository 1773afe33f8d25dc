//! `rekaz-proxy` child processes with captured, secret-checked output.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

use super::secrets::{assert_no_secret, redact, API_KEY, API_SECRET, TENANT_ID};
use super::watched::Watched;

/// Time allowed for a process to start listening, print an expected line, or exit.
pub const PROCESS_TIMEOUT: Duration = Duration::from_secs(20);

/// Log message the proxy prints once it accepts connections; its `listen` field is the address.
pub const PROXY_READY: &str = "rekaz-proxy listening";

/// Log message the sandbox prints once it accepts connections.
pub const SANDBOX_READY: &str = "rekaz sandbox listening";

const BINARY: &str = env!("CARGO_BIN_EXE_rekaz-proxy");

/// Which output stream a captured line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output, where the JSON logs go.
    Stdout,
    /// Standard error, where configuration errors go.
    Stderr,
}

/// Lines captured so far and how many output streams are still open.
#[derive(Default)]
struct Captured {
    lines: Vec<(Stream, String)>,
    open_streams: usize,
}

/// Captured output shared with the reader threads, which wake waiters on every line.
type Capture = Watched<Captured>;

impl Capture {
    fn push(&self, stream: Stream, line: String) {
        self.update(|captured| captured.lines.push((stream, line)));
    }

    fn close_stream(&self) {
        self.update(|captured| captured.open_streams -= 1);
    }
}

/// How to start a `rekaz-proxy` process: subcommand, arguments and a cleared environment.
#[derive(Debug, Clone)]
pub struct ProcessBuilder {
    args: Vec<String>,
    env: BTreeMap<String, String>,
    ready_message: Option<&'static str>,
    open_file_limit: Option<u64>,
}

impl ProcessBuilder {
    /// `rekaz-proxy run --listen 127.0.0.1:0 --upstream <upstream>` with the harness credentials.
    pub fn proxy(upstream: &str) -> Self {
        let mut builder = Self::command(&["run", "--listen", "127.0.0.1:0"]);
        builder
            .args
            .extend(["--upstream".to_owned(), upstream.to_owned()]);
        builder.ready_message = Some(PROXY_READY);
        builder
    }

    /// `rekaz-proxy sandbox --listen 127.0.0.1:0` accepting the harness credentials.
    pub fn sandbox() -> Self {
        let mut builder = Self::command(&["sandbox", "--listen", "127.0.0.1:0"]);
        builder.ready_message = Some(SANDBOX_READY);
        builder
    }

    /// Any subcommand with the given arguments, the harness credentials and JSON logs. It has
    /// no ready message, so use [`ProcessBuilder::spawn`] and wait for the exit or a log line.
    pub fn command(args: &[&str]) -> Self {
        let mut env = BTreeMap::new();
        for name in ["PATH", "HOME"] {
            if let Some(value) = std::env::var_os(name) {
                env.insert(name.to_owned(), value.to_string_lossy().into_owned());
            }
        }
        env.insert("REKAZ_API_KEY".to_owned(), API_KEY.to_owned());
        env.insert("REKAZ_API_SECRET".to_owned(), API_SECRET.to_owned());
        env.insert("REKAZ_TENANT_ID".to_owned(), TENANT_ID.to_owned());
        env.insert("REKAZ_PROXY__LOG__FORMAT".to_owned(), "json".to_owned());
        // Each proxy's health endpoints get a free port, so parallel tests never share 9090.
        env.insert(
            "REKAZ_PROXY__ADMIN__LISTEN".to_owned(),
            "127.0.0.1:0".to_owned(),
        );
        ProcessBuilder {
            args: args.iter().map(|arg| (*arg).to_owned()).collect(),
            env,
            ready_message: None,
            open_file_limit: None,
        }
    }

    /// Appends one command-line argument.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Sets an environment variable, replacing the harness default of the same name.
    pub fn env(mut self, name: &str, value: impl Into<String>) -> Self {
        self.env.insert(name.to_owned(), value.into());
        self
    }

    /// Removes an environment variable, such as one of the harness credentials.
    pub fn remove_env(mut self, name: &str) -> Self {
        self.env.remove(name);
        self
    }

    /// Runs the process with this soft and hard open-file limit (`ulimit -n`), set by
    /// util-linux's `prlimit`, which then runs the binary in its place.
    pub fn open_file_limit(mut self, limit: u64) -> Self {
        self.open_file_limit = Some(limit);
        self
    }

    /// Starts the process without waiting for anything.
    pub fn spawn(self) -> ProxyProcess {
        let mut command = match self.open_file_limit {
            Some(limit) => {
                let mut command = Command::new("prlimit");
                command.arg(format!("--nofile={limit}:{limit}")).arg(BINARY);
                command
            }
            None => Command::new(BINARY),
        };
        let mut child = command
            .args(&self.args)
            .env_clear()
            .envs(&self.env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {BINARY}: {error}"));

        let capture = Arc::new(Capture::new(Captured {
            lines: Vec::new(),
            open_streams: 2,
        }));
        let readers = vec![
            read_lines(child.stdout.take(), Stream::Stdout, &capture),
            read_lines(child.stderr.take(), Stream::Stderr, &capture),
        ];
        ProxyProcess {
            child,
            capture,
            readers,
            address: None,
            exit: None,
            description: self.args.join(" "),
        }
    }

    /// Starts the process and waits until its ready line names the address it listens on.
    /// The line may be JSON or text (`... rekaz-proxy listening ... listen=127.0.0.1:PORT`).
    ///
    /// Panics when the builder has no ready message, or the process exits or stays silent
    /// for [`PROCESS_TIMEOUT`].
    pub fn start(self) -> ProxyProcess {
        let message = self
            .ready_message
            .expect("only proxy and sandbox builders have a ready message; use spawn()");
        let mut process = self.spawn();
        let found = process.capture.wait_until(PROCESS_TIMEOUT, |captured| {
            let address = captured
                .lines
                .iter()
                .find_map(|(_, line)| ready_address(line, message));
            match address {
                Some(address) => Some(Ok(address)),
                None if captured.open_streams == 0 => Some(Err(())),
                None => None,
            }
        });
        match found {
            Some(Ok(address)) => process.address = Some(address),
            Some(Err(())) => process.fail(&format!("exited before printing {message:?}")),
            None => process.fail(&format!(
                "printed no {message:?} line with a `listen` address within {PROCESS_TIMEOUT:?}"
            )),
        }
        process
    }
}

/// Returns the `listen` address of a ready line carrying `message`, in JSON or text format.
fn ready_address(line: &str, message: &str) -> Option<SocketAddr> {
    if let Some(json) = parse_json(line) {
        if log_message(&json) != Some(message) {
            return None;
        }
        return log_field(&json, "listen")?.as_str()?.parse().ok();
    }
    if !line.contains(message) {
        return None;
    }
    line.split_whitespace()
        .find_map(|word| word.strip_prefix("listen="))
        .and_then(|address| address.trim_matches('"').parse().ok())
}

fn read_lines(
    pipe: Option<impl Read + Send + 'static>,
    stream: Stream,
    capture: &Arc<Capture>,
) -> JoinHandle<()> {
    let pipe = pipe.expect("the pipe was requested at spawn");
    let capture = Arc::clone(capture);
    std::thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut line = Vec::new();
        while matches!(reader.read_until(b'\n', &mut line), Ok(length) if length > 0) {
            let text = String::from_utf8_lossy(&line);
            capture.push(stream, text.trim_end_matches(['\r', '\n']).to_owned());
            line.clear();
        }
        capture.close_stream();
    })
}

/// A running or finished `rekaz-proxy` process.
///
/// On drop it kills the process if still running, writes the captured output (secrets
/// redacted) to `target/test-logs/<test>-<pid>.log`, and asserts that no line contains a
/// secret, unless the test is already panicking.
pub struct ProxyProcess {
    child: Child,
    capture: Arc<Capture>,
    readers: Vec<JoinHandle<()>>,
    address: Option<SocketAddr>,
    exit: Option<ExitStatus>,
    description: String,
}

impl ProxyProcess {
    /// Starts a proxy in front of `upstream` with the harness credentials and waits until it
    /// listens.
    pub fn start(upstream: &str) -> Self {
        ProcessBuilder::proxy(upstream).start()
    }

    /// Returns a builder for a proxy in front of `upstream`, to change its environment or arguments.
    pub fn builder(upstream: &str) -> ProcessBuilder {
        ProcessBuilder::proxy(upstream)
    }

    /// Returns the operating system's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Returns the address the process listens on. Panics for a process started without waiting.
    pub fn address(&self) -> SocketAddr {
        self.address
            .expect("the process was spawned without waiting for its ready line")
    }

    /// Returns the base URL, `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.address())
    }

    /// Returns every captured line of both streams, in arrival order.
    pub fn logs(&self) -> Vec<String> {
        self.capture
            .lock()
            .lines
            .iter()
            .map(|(_, line)| line.clone())
            .collect()
    }

    /// Captured lines of one stream.
    pub fn lines(&self, stream: Stream) -> Vec<String> {
        self.capture
            .lock()
            .lines
            .iter()
            .filter(|(from, _)| *from == stream)
            .map(|(_, line)| line.clone())
            .collect()
    }

    /// Captured lines that are JSON objects, parsed.
    pub fn json_logs(&self) -> Vec<Value> {
        self.logs()
            .iter()
            .filter_map(|line| parse_json(line))
            .collect()
    }

    /// Waits for a JSON log line matching `predicate` and returns it.
    ///
    /// Panics, showing the redacted output, when the process exits first or `timeout` passes.
    pub fn wait_for_log(&self, predicate: impl Fn(&Value) -> bool, timeout: Duration) -> Value {
        let found = self.capture.wait_until(timeout, |captured| {
            let line = captured
                .lines
                .iter()
                .filter_map(|(_, line)| parse_json(line))
                .find(|line| predicate(line));
            match line {
                Some(line) => Some(Ok(line)),
                None if captured.open_streams == 0 => Some(Err(())),
                None => None,
            }
        });
        match found {
            Some(Ok(line)) => line,
            Some(Err(())) => self.fail("exited before printing the expected log line"),
            None => self.fail(&format!("printed no expected log line within {timeout:?}")),
        }
    }

    /// Waits until at least `count` JSON log lines match `predicate` and returns them all.
    ///
    /// Panics, showing the redacted output, when the process exits first or `timeout` passes.
    pub fn wait_for_logs(
        &self,
        predicate: impl Fn(&Value) -> bool,
        count: usize,
        timeout: Duration,
    ) -> Vec<Value> {
        let found = self.capture.wait_until(timeout, |captured| {
            let lines: Vec<Value> = captured
                .lines
                .iter()
                .filter_map(|(_, line)| parse_json(line))
                .filter(|line| predicate(line))
                .collect();
            match lines.len() >= count {
                true => Some(Ok(lines)),
                false if captured.open_streams == 0 => Some(Err(lines.len())),
                false => None,
            }
        });
        match found {
            Some(Ok(lines)) => lines,
            Some(Err(seen)) => self.fail(&format!(
                "exited after printing {seen} of {count} expected log lines"
            )),
            None => self.fail(&format!(
                "printed fewer than {count} expected log lines within {timeout:?}"
            )),
        }
    }

    /// Waits for a JSON log line whose message is `message`.
    pub fn wait_for_message(&self, message: &str, timeout: Duration) -> Value {
        self.wait_for_log(|line| log_message(line) == Some(message), timeout)
    }

    /// Sends a signal by name, such as `TERM` or `INT`, with the `kill` command.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap_or_else(|error| panic!("cannot run kill: {error}"));
        assert!(
            status.success(),
            "kill -{name} {} failed: {status}",
            self.pid()
        );
    }

    /// Waits until the process exits and returns its status.
    ///
    /// Panics, showing the redacted output, when it is still running after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        if let Some(status) = self.exit {
            return status;
        }
        let closed = self.capture.wait_until(timeout, |captured| {
            (captured.open_streams == 0).then_some(())
        });
        if closed.is_none() {
            self.fail(&format!("did not exit within {timeout:?}"));
        }
        let status = self.child.wait().expect("waiting for an exited child");
        self.exit = Some(status);
        status
    }

    /// Returns whether any captured line contains `text`.
    pub fn logs_contain(&self, text: &str) -> bool {
        self.logs().iter().any(|line| line.contains(text))
    }

    fn fail(&self, problem: &str) -> ! {
        let output = redact(&self.logs().join("\n"));
        panic!(
            "rekaz-proxy {} (pid {}) {problem}; output so far:\n{output}",
            self.description,
            self.pid()
        );
    }

    fn write_log_file(&self) {
        let directory = log_directory();
        if std::fs::create_dir_all(&directory).is_err() {
            return;
        }
        let test = std::thread::current()
            .name()
            .unwrap_or("unnamed")
            .replace("::", "-");
        let path = directory.join(format!("{test}-{}.log", self.pid()));
        let mut text = format!("# rekaz-proxy {}\n", self.description);
        for (stream, line) in &self.capture.lock().lines {
            let tag = match stream {
                Stream::Stdout => "out",
                Stream::Stderr => "err",
            };
            text.push_str(&format!("{tag} {}\n", redact(line)));
        }
        let _ = std::fs::write(path, text);
    }
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        if self.exit.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        self.write_log_file();
        if std::thread::panicking() {
            return;
        }
        for (index, line) in self.logs().iter().enumerate() {
            let context = format!("rekaz-proxy {} output line {}", self.description, index + 1);
            assert_no_secret(&context, line);
        }
    }
}

/// A `rekaz-proxy sandbox` process: the fake Rekaz, accepting the harness credentials.
pub struct SandboxProcess {
    process: ProxyProcess,
}

impl SandboxProcess {
    /// Starts a sandbox and waits until it listens.
    pub fn start() -> Self {
        Self::start_with(ProcessBuilder::sandbox())
    }

    /// Starts a sandbox from a builder made with [`ProcessBuilder::sandbox`], for extra flags
    /// such as `--latency`.
    pub fn start_with(builder: ProcessBuilder) -> Self {
        SandboxProcess {
            process: builder.start(),
        }
    }
}

impl Deref for SandboxProcess {
    type Target = ProxyProcess;

    fn deref(&self) -> &ProxyProcess {
        &self.process
    }
}

impl DerefMut for SandboxProcess {
    fn deref_mut(&mut self) -> &mut ProxyProcess {
        &mut self.process
    }
}

/// Returns the directory for the captured output of every process: `<target>/test-logs`.
pub fn log_directory() -> PathBuf {
    let binary = PathBuf::from(BINARY);
    let target = binary
        .parent()
        .and_then(|profile| profile.parent())
        .expect("the binary lies in <target>/<profile>/");
    target.join("test-logs")
}

fn parse_json(line: &str) -> Option<Value> {
    let value: Value = serde_json::from_str(line).ok()?;
    value.is_object().then_some(value)
}

/// Returns a field of a JSON log line, at the top level (flattened events) or under `fields`.
pub fn log_field<'a>(line: &'a Value, name: &str) -> Option<&'a Value> {
    line.get(name)
        .or_else(|| line.get("fields").and_then(|fields| fields.get(name)))
}

/// Returns the message of a JSON log line.
pub fn log_message(line: &Value) -> Option<&str> {
    log_field(line, "message").and_then(Value::as_str)
}

/// Returns the target (module path) of a JSON log line, such as `rekaz_proxy::access`.
pub fn log_target(line: &Value) -> Option<&str> {
    line.get("target").and_then(Value::as_str)
}
