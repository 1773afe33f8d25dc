//! Credential sources: `command:` programs, literal secrets, `check` output, `Debug` masking and
//! the non-dumpable process, through real `rekaz-proxy` processes and scripts.

mod common;
mod rotation_support;

use common::*;
use rekaz_proxy::config::{self, Settings};
use rekaz_proxy::credentials::ActiveCredentials;
use rekaz_proxy::env::EnvVars;
use rotation_support::*;

/// Standard output that a failing command prints. It must never reach a log line.
const FAILING_STDOUT: &str = "StdoutOfFailingCommand6tY2";

fn secret_command_proxy(upstream: &str, command: &str) -> ProcessBuilder {
    ProxyProcess::builder(upstream)
        .remove_env("REKAZ_API_SECRET")
        .env(
            "REKAZ_PROXY__CREDENTIALS__API_SECRET",
            format!("command:{command}"),
        )
}

fn exit_output(process: &mut ProxyProcess) -> (i32, String) {
    let status = process.wait_exit(PROCESS_TIMEOUT);
    (status.code().unwrap_or(-1), process.logs().join("\n"))
}

#[test]
fn command_source_supplies_secret() {
    let secrets = SecretDir::new();
    let script = secrets.script("print-secret", &format!("printf '%s\\n' '{API_SECRET}'"));
    let upstream = RecordingUpstream::ok();
    let proxy = secret_command_proxy(&upstream.url(), &script.to_string_lossy()).start();

    curl(&[&format!("{}/api/public/branches", proxy.url())]);

    let request = upstream.single_request();
    let expected = expected_authorization();
    assert_eq!(request.header("authorization"), Some(expected.as_str()));
}

#[test]
fn command_arguments_follow_shell_quoting() {
    let secrets = SecretDir::new();
    let script = secrets.script("join-arguments", "printf '%s|%s' \"$1\" \"$2\"");
    let command = format!("{} one 'two words'", script.to_string_lossy());
    let upstream = RecordingUpstream::ok();
    let proxy = secret_command_proxy(&upstream.url(), &command).start();

    curl(&[&format!("{}/api/public/branches", proxy.url())]);

    let expected = format!("Basic {}", basic_credentials(API_KEY, "one|two words"));
    let request = upstream.single_request();
    assert_eq!(request.header("authorization"), Some(expected.as_str()));
}

#[test]
fn command_runs_without_shell() {
    let secrets = SecretDir::new();
    let script = secrets.script("print-first", "printf '%s' \"$1\"");
    // A shell would expand the variable and split at `;`, so the value shows that none ran.
    let command = format!("{} $HOME;echo", script.to_string_lossy());
    let upstream = RecordingUpstream::ok();
    let proxy = secret_command_proxy(&upstream.url(), &command).start();

    curl(&[&format!("{}/api/public/branches", proxy.url())]);

    let expected = format!("Basic {}", basic_credentials(API_KEY, "$HOME;echo"));
    let request = upstream.single_request();
    assert_eq!(request.header("authorization"), Some(expected.as_str()));
}

#[test]
fn failing_command_names_program_and_status() {
    let secrets = SecretDir::new();
    let script = secrets.script(
        "vault-denied",
        &format!("echo '{FAILING_STDOUT}'\necho 'permission denied on secret/rekaz' >&2\nexit 3"),
    );
    let mut proxy = secret_command_proxy("http://127.0.0.1:9", &script.to_string_lossy()).spawn();

    let (code, output) = exit_output(&mut proxy);

    assert_eq!(code, 1);
    assert!(
        output.contains("vault-denied"),
        "program not named: {output}"
    );
    assert!(
        output.contains("exit status: 3"),
        "status not named: {output}"
    );
    assert!(
        output.contains("permission denied on secret/rekaz"),
        "standard error not logged: {output}"
    );
    assert!(
        !output.contains(FAILING_STDOUT),
        "standard output was logged"
    );
}

#[test]
fn slow_command_is_killed_at_timeout() {
    let secrets = SecretDir::new();
    let pid_file = secrets.path("sleeper.pid");
    let script = secrets.script(
        "hang",
        &format!(
            "sleep 60 &\necho $! > '{}'\nwait",
            pid_file.to_string_lossy()
        ),
    );
    let mut proxy = secret_command_proxy("http://127.0.0.1:9", &script.to_string_lossy())
        .env("REKAZ_PROXY__CREDENTIALS__COMMAND_TIMEOUT", "1500ms")
        .spawn();

    let (code, output) = exit_output(&mut proxy);

    assert_eq!(code, 1);
    assert!(output.contains("did not finish within 1.5 s"), "{output}");
    assert!(output.contains("credentials.command_timeout"), "{output}");
    let sleeper = std::fs::read_to_string(&pid_file).expect("the script wrote its child's pid");
    let proc_entry = std::path::PathBuf::from(format!("/proc/{}", sleeper.trim()));
    assert!(
        wait_until_gone(&proc_entry),
        "the command's child survived the timeout"
    );
}

#[test]
fn missing_program_is_named() {
    let mut proxy =
        secret_command_proxy("http://127.0.0.1:9", "/nonexistent/bin/secret-tool read").spawn();

    let (code, output) = exit_output(&mut proxy);

    assert_eq!(code, 1);
    assert!(output.contains("/nonexistent/bin/secret-tool"), "{output}");
    assert!(output.contains("on PATH"), "{output}");
}

#[test]
fn empty_command_output_is_rejected() {
    let secrets = SecretDir::new();
    let script = secrets.script("print-nothing", "exit 0");
    let mut proxy = secret_command_proxy("http://127.0.0.1:9", &script.to_string_lossy()).spawn();

    let (code, output) = exit_output(&mut proxy);

    assert_eq!(code, 1);
    assert!(output.contains("is empty"), "{output}");
}

#[test]
fn unbalanced_quote_is_config_error() {
    let mut proxy = secret_command_proxy("http://127.0.0.1:9", "op read 'op://vault").spawn();

    let (code, output) = exit_output(&mut proxy);

    assert_eq!(code, 2);
    assert!(output.contains("credentials.api_secret"), "{output}");
}

#[test]
fn literal_secret_names_safer_sources() {
    let mut proxy = ProxyProcess::builder("http://127.0.0.1:9")
        .env("REKAZ_PROXY__CREDENTIALS__API_SECRET", WRONG_SECRET)
        .spawn();

    let (code, output) = exit_output(&mut proxy);

    assert_eq!(code, 2);
    assert!(output.contains("env:NAME"), "{output}");
    assert!(output.contains("file:/path"), "{output}");
    assert!(output.contains("command:PROGRAM ARGS"), "{output}");
}

#[test]
fn literal_secret_in_variable_is_named() {
    let mut proxy = ProxyProcess::builder("http://127.0.0.1:9")
        .env("REKAZ_PROXY__CREDENTIALS__API_SECRET", WRONG_SECRET)
        .spawn();

    let (code, output) = exit_output(&mut proxy);

    assert_eq!(code, 2);
    assert!(
        output.contains("the environment variable REKAZ_PROXY__CREDENTIALS__API_SECRET"),
        "{output}"
    );
    assert!(!output.contains("configuration file"), "{output}");
}

#[test]
fn env_source_name_is_validated() {
    let mut proxy = ProxyProcess::builder("http://127.0.0.1:9")
        .env("REKAZ_PROXY__CREDENTIALS__API_SECRET", "env:lower case")
        .spawn();

    let (code, output) = exit_output(&mut proxy);

    assert_eq!(code, 2, "{output}");
    assert!(output.contains("credentials.api_secret"), "{output}");
    assert!(
        output.contains("letters, digits and underscores"),
        "{output}"
    );
    assert!(!output.contains("lower case_FILE"), "{output}");
}

#[test]
fn command_stderr_hides_printed_value() {
    let secrets = SecretDir::new();
    let script = secrets.script(
        "vault-echo",
        &format!("echo '{FAILING_STDOUT}'\necho 'cannot use {FAILING_STDOUT}' >&2\nexit 3"),
    );
    let mut proxy = secret_command_proxy("http://127.0.0.1:9", &script.to_string_lossy()).spawn();

    let (code, output) = exit_output(&mut proxy);

    assert_eq!(code, 1);
    assert!(output.contains("cannot use [redacted]"), "{output}");
    assert!(
        !output.contains(FAILING_STDOUT),
        "standard output was logged"
    );
}

#[test]
fn check_shows_command_source_masked() {
    let secrets = SecretDir::new();
    let script = secrets.script("print-secret", &format!("printf '%s' '{API_SECRET}'"));
    let command = script.to_string_lossy().into_owned();
    let mut check = ProcessBuilder::command(&["check", "--offline"])
        .remove_env("REKAZ_API_SECRET")
        .env(
            "REKAZ_PROXY__CREDENTIALS__API_SECRET",
            format!("command:{command}"),
        )
        .spawn();

    let (code, output) = exit_output(&mut check);

    assert_eq!(code, 0, "{output}");
    let expected = format!("api secret        ******** (from command:{command})");
    assert!(output.contains(&expected), "{output}");
}

#[test]
fn proxy_process_is_non_dumpable() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::start(&upstream.url());

    let ready = proxy.wait_for_message("rekaz-proxy listening", SHORT);

    assert_eq!(
        log_field(&ready, "non_dumpable"),
        Some(&serde_json::json!(true))
    );
}

#[test]
fn settings_debug_shows_no_secret() {
    let env: EnvVars = [
        ("REKAZ_API_KEY", API_KEY),
        ("REKAZ_API_SECRET", API_SECRET),
        ("REKAZ_TENANT_ID", TENANT_ID),
        ("REKAZ_PASSWORD", PASSWORD),
    ]
    .into_iter()
    .collect();
    let settings: Settings = config::load(None, &env, &Vec::new()).unwrap();

    let printed = format!("{settings:?} {env:?}");

    assert_no_secret("Debug of Settings", &printed);
    assert!(!printed.contains(PASSWORD), "the password was printed");
}

#[test]
fn credentials_debug_shows_no_secret() {
    let credentials = ActiveCredentials::from_api_key(API_KEY, API_SECRET, TENANT_ID).unwrap();

    let printed = format!("{credentials:?}");

    assert_no_secret("Debug of ActiveCredentials", &printed);
    assert!(!printed.contains(API_KEY), "the whole key was printed");
}
