//! Start-up behaviour of the binary: configuration errors stop it before it binds a port,
//! credential files are read as documented, and `check` reports what it would use.

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::ExitStatus;

use common::*;

/// Returns a loopback URL where nothing listens, so no test can reach a real host.
fn closed_upstream() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    format!("http://{}", listener.local_addr().expect("bound address"))
}

/// Waits for a process that should fail at start and returns its exit status.
fn wait_failed_start(process: &mut ProxyProcess) -> ExitStatus {
    let status = process.wait_exit(PROCESS_TIMEOUT);
    assert!(!status.success(), "the process started: {status}");
    assert!(
        !process.logs_contain(process::PROXY_READY),
        "the process listened before failing"
    );
    status
}

fn stderr_text(process: &ProxyProcess) -> String {
    process.lines(Stream::Stderr).join("\n")
}

/// Starts `check --offline` with the API secret read from `path`.
fn check_offline_with_secret_file(path: &str) -> ProxyProcess {
    ProcessBuilder::command(&["check", "--offline"])
        .arg("--upstream")
        .arg(closed_upstream())
        .remove_env("REKAZ_API_SECRET")
        .env("REKAZ_API_SECRET_FILE", path)
        .spawn()
}

fn write_file(directory: &Path, name: &str, contents: &[u8]) -> String {
    let path = directory.join(name);
    std::fs::write(&path, contents).expect("writing a test file");
    path.display().to_string()
}

// Configuration errors.

#[test]
fn unknown_file_key_fails_start() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let config = write_file(directory.path(), "proxy.toml", b"[upstream]\nretries = 3\n");
    let mut proxy = ProxyProcess::builder(&closed_upstream())
        .arg("--config")
        .arg(&config)
        .spawn();

    wait_failed_start(&mut proxy);

    let message = stderr_text(&proxy);
    assert!(message.contains("upstream.retries"), "{message}");
    assert!(message.contains(&config), "{message}");
}

#[test]
fn unknown_env_variable_fails_start() {
    let mut proxy = ProxyProcess::builder(&closed_upstream())
        .env("REKAZ_PROXY__FOO", "1")
        .spawn();

    wait_failed_start(&mut proxy);

    let message = stderr_text(&proxy);
    assert!(message.contains("REKAZ_PROXY__FOO"), "{message}");
}

#[test]
fn bad_duration_fails_start() {
    let mut proxy = ProxyProcess::builder(&closed_upstream())
        .env("REKAZ_PROXY__UPSTREAM__TIMEOUT", "soon")
        .spawn();

    wait_failed_start(&mut proxy);

    let message = stderr_text(&proxy);
    assert!(message.contains("upstream.timeout"), "{message}");
    assert!(message.contains("\"soon\""), "{message}");
}

#[test]
fn allowed_host_with_port_fails_start() {
    // The guard compares Host without its port, so this entry could never match.
    let mut proxy = ProxyProcess::builder(&closed_upstream())
        .env("REKAZ_PROXY__GUARD__ALLOWED_HOSTS", "rekaz-proxy:8080")
        .spawn();

    wait_failed_start(&mut proxy);

    let message = stderr_text(&proxy);
    assert!(message.contains("guard.allowed_hosts"), "{message}");
    assert!(message.contains("rekaz-proxy:8080"), "{message}");
    assert!(message.contains("port"), "{message}");
}

#[test]
fn plain_http_remote_upstream_fails_start() {
    // `.invalid` never resolves, and validation rejects the URL before any connection.
    let upstream = "http://api.rekaz.invalid:8080";
    let mut proxy = ProxyProcess::builder(upstream).spawn();

    wait_failed_start(&mut proxy);

    let message = stderr_text(&proxy);
    assert!(message.contains("upstream.url"), "{message}");
    assert!(message.contains(upstream), "{message}");
}

#[test]
fn literal_secret_in_config_fails_start() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    // The real secret, so the harness's scan proves the error does not echo it.
    let toml = format!("[credentials]\napi_secret = \"{API_SECRET}\"\n");
    let config = write_file(directory.path(), "proxy.toml", toml.as_bytes());
    let mut proxy = ProxyProcess::builder(&closed_upstream())
        .arg("--config")
        .arg(&config)
        .spawn();

    wait_failed_start(&mut proxy);

    let message = stderr_text(&proxy);
    assert!(message.contains("credentials.api_secret"), "{message}");
    assert!(message.contains("env:NAME"), "no fix named: {message}");
}

#[test]
fn missing_secret_fails_start() {
    let mut proxy = ProxyProcess::builder(&closed_upstream())
        .remove_env("REKAZ_API_SECRET")
        .spawn();

    wait_failed_start(&mut proxy);

    assert!(
        proxy.logs_contain("REKAZ_API_SECRET"),
        "the error does not name the variable: {:?}",
        proxy.logs()
    );
}

#[test]
fn config_error_exit_code_is_two() {
    let mut proxy = ProxyProcess::builder(&closed_upstream())
        .env("REKAZ_PROXY__LOG__FORMAT", "xml")
        .spawn();

    let status = wait_failed_start(&mut proxy);

    assert_eq!(status.code(), Some(2));
}

// Secret files.

#[test]
fn secret_file_variable_is_honoured() {
    let sandbox = SandboxProcess::start();
    let directory = tempfile::tempdir().expect("a temporary directory");
    let secret = write_file(directory.path(), "secret", API_SECRET.as_bytes());
    let proxy = ProxyProcess::builder(&sandbox.url())
        .remove_env("REKAZ_API_SECRET")
        .env("REKAZ_API_SECRET_FILE", &secret)
        .start();

    let response = curl(&[&format!("{}/api/public/branches", proxy.url())]);

    assert_eq!(response.status, 200, "body: {}", response.text());
    assert!(!proxy.logs_contain("CR/LF"), "warned about a clean file");
}

#[test]
fn secret_file_line_ending_warns_once() {
    let sandbox = SandboxProcess::start();
    let directory = tempfile::tempdir().expect("a temporary directory");
    let contents = format!("{API_SECRET}\r\n");
    let secret = write_file(directory.path(), "secret", contents.as_bytes());
    let proxy = ProxyProcess::builder(&sandbox.url())
        .remove_env("REKAZ_API_SECRET")
        .env("REKAZ_API_SECRET_FILE", &secret)
        .start();

    let url = format!("{}/api/public/branches", proxy.url());
    let first = curl(&[&url]);
    let second = curl(&[&url]);

    assert_eq!(first.status, 200, "body: {}", first.text());
    assert_eq!(second.status, 200, "body: {}", second.text());
    let warnings = proxy
        .json_logs()
        .into_iter()
        .filter(|line| line["level"] == "WARN" && line.to_string().contains("CR/LF"))
        .count();
    assert_eq!(warnings, 1, "line-ending warnings");
}

#[test]
fn file_source_in_config_is_read() {
    let sandbox = SandboxProcess::start();
    let directory = tempfile::tempdir().expect("a temporary directory");
    let secret = write_file(directory.path(), "secret", API_SECRET.as_bytes());
    let toml = format!("[credentials]\napi_secret = \"file:{secret}\"\n");
    let config = write_file(directory.path(), "proxy.toml", toml.as_bytes());
    let proxy = ProxyProcess::builder(&sandbox.url())
        .remove_env("REKAZ_API_SECRET")
        .arg("--config")
        .arg(&config)
        .start();

    let response = curl(&[&format!("{}/api/public/branches", proxy.url())]);

    assert_eq!(response.status, 200, "body: {}", response.text());
}

#[test]
fn device_secret_file_is_rejected() {
    let mut check = check_offline_with_secret_file("/dev/zero");

    let status = check.wait_exit(PROCESS_TIMEOUT);

    let output = check.logs().join("\n");
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(output.contains("/dev/zero"), "{output}");
    assert!(output.contains("a character device"), "{output}");
    assert!(output.contains("not a regular file"), "{output}");
}

#[test]
fn oversized_secret_file_is_rejected() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let path = directory.path().join("secret");
    let file = std::fs::File::create(&path).expect("creating the secret file");
    // A sparse file: 100 MB long without writing 100 MB.
    file.set_len(100 * 1024 * 1024)
        .expect("sizing the secret file");
    let mut check = check_offline_with_secret_file(&path.display().to_string());

    let status = check.wait_exit(PROCESS_TIMEOUT);

    let output = check.logs().join("\n");
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(output.contains(&path.display().to_string()), "{output}");
    assert!(output.contains("larger than 65536 bytes"), "{output}");
}

#[test]
fn named_pipe_secret_file_is_rejected() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let path = directory.path().join("secret");
    let mkfifo = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .expect("running mkfifo");
    assert!(mkfifo.success(), "mkfifo failed: {mkfifo}");
    let mut check = check_offline_with_secret_file(&path.display().to_string());

    // Without the check, reading the pipe waits for a writer and this times out.
    let status = check.wait_exit(PROCESS_TIMEOUT);

    let output = check.logs().join("\n");
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(output.contains("a named pipe (FIFO)"), "{output}");
}

#[test]
fn trailing_tab_in_secret_warns() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let contents = format!("{API_SECRET}\t");
    let secret = write_file(directory.path(), "secret", contents.as_bytes());
    let proxy = ProxyProcess::builder(&closed_upstream())
        .remove_env("REKAZ_API_SECRET")
        .env("REKAZ_API_SECRET_FILE", &secret)
        .start();

    let warning = proxy.wait_for_log(
        |line| {
            line["level"] == "WARN"
                && log_message(line).is_some_and(|message| message.contains("space or tab"))
        },
        PROCESS_TIMEOUT,
    );

    assert_eq!(
        log_field(&warning, "values"),
        Some(&serde_json::json!("[\"API secret\"]"))
    );
}

#[test]
fn trailing_space_and_tab_check_alike() {
    for padding in [" ", "\t"] {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let contents = format!("{API_SECRET}{padding}");
        let secret = write_file(directory.path(), "secret", contents.as_bytes());
        let mut check = check_offline_with_secret_file(&secret);

        let status = check.wait_exit(PROCESS_TIMEOUT);

        let output = check.lines(Stream::Stdout).join("\n");
        assert_eq!(status.code(), Some(0), "padding {padding:?}: {output}");
        assert!(
            output.contains("the API secret begins or ends with a space or tab"),
            "padding {padding:?}: {output}"
        );
    }
}

#[test]
fn invalid_tenant_check_hides_value() {
    let mut check = ProcessBuilder::command(&["check", "--offline"])
        .arg("--upstream")
        .arg(closed_upstream())
        .env("REKAZ_TENANT_ID", "SuperSecretValue987")
        .spawn();

    let status = check.wait_exit(PROCESS_TIMEOUT);

    let output = check.logs().join("\n");
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(
        !output.contains("SuperSecretValue987"),
        "the value was printed"
    );
    assert!(output.contains("env:REKAZ_TENANT_ID"), "{output}");
    assert!(output.contains("expected a GUID like"), "{output}");
    assert!(output.contains("got 19 characters"), "{output}");
}

#[test]
fn invalid_tenant_stops_run_unshown() {
    // The API secret as the tenant id: the drop-time scan fails the test if any line shows it.
    let mut proxy = ProxyProcess::builder(&closed_upstream())
        .env("REKAZ_TENANT_ID", API_SECRET)
        .spawn();

    wait_failed_start(&mut proxy);

    assert!(
        proxy.logs_contain("tenant id from env:REKAZ_TENANT_ID is invalid"),
        "{:?}",
        proxy.logs()
    );
}

// `check`.

#[test]
fn check_offline_masks_credentials() {
    let mut check = ProcessBuilder::command(&["check", "--offline"])
        .arg("--upstream")
        .arg(closed_upstream())
        .spawn();

    let status = check.wait_exit(PROCESS_TIMEOUT);

    assert_eq!(status.code(), Some(0));
    let output = check.lines(Stream::Stdout).join("\n");
    assert!(output.contains(&API_KEY[..4]), "no key hint: {output}");
    assert!(!output.contains(&API_KEY[..5]), "key not masked: {output}");
    assert!(output.contains("env:REKAZ_API_SECRET"), "{output}");
    assert!(output.contains(TENANT_ID), "{output}");
}

#[test]
fn check_accepts_sandbox_credentials() {
    let sandbox = SandboxProcess::start();
    let mut check = ProcessBuilder::command(&["check"])
        .arg("--upstream")
        .arg(sandbox.url())
        .spawn();

    let status = check.wait_exit(PROCESS_TIMEOUT);

    assert_eq!(status.code(), Some(0), "output: {:?}", check.logs());
}

#[test]
fn check_rejects_wrong_secret() {
    let sandbox = SandboxProcess::start();
    let mut check = ProcessBuilder::command(&["check"])
        .arg("--upstream")
        .arg(sandbox.url())
        .env("REKAZ_API_SECRET", WRONG_SECRET)
        .spawn();

    let status = check.wait_exit(PROCESS_TIMEOUT);

    assert_eq!(status.code(), Some(1), "output: {:?}", check.logs());
}

#[test]
fn check_fails_when_upstream_unreachable() {
    let mut check = ProcessBuilder::command(&["check"])
        .arg("--upstream")
        .arg(closed_upstream())
        .spawn();

    let status = check.wait_exit(PROCESS_TIMEOUT);

    assert_eq!(status.code(), Some(1), "output: {:?}", check.logs());
}

#[test]
fn version_flag_prints_version() {
    let mut version = ProcessBuilder::command(&["--version"]).spawn();

    let status = version.wait_exit(PROCESS_TIMEOUT);

    assert!(status.success());
    let expected = format!("rekaz-proxy {}", env!("CARGO_PKG_VERSION"));
    assert_eq!(version.lines(Stream::Stdout), [expected]);
}
