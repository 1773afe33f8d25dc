//! Helpers shared by the secrets-store tests (`sources`, `rotation`, `token`), on top of the
//! harness in `tests/common`: secret files and scripts in a temporary directory, the admin
//! endpoints, and a leak check for the extra secrets these tests introduce.

#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::common::{
    basic_credentials, curl, log_field, log_message, HttpResponse, ProcessBuilder, ProxyProcess,
    API_KEY, API_SECRET, PROCESS_TIMEOUT,
};

/// The key and secret the tests rotate to. Letters and digits only, like the harness secrets,
/// so a leak cannot hide behind escaping.
pub const NEW_API_KEY: &str = "rkz_rotated_key_5d1e77";
pub const NEW_API_SECRET: &str = "R0tatedSecretValue8mN3bV6cX1";

/// Username and password of the sandbox's password-grant user.
pub const USERNAME: &str = "integrator@example.test";
pub const PASSWORD: &str = "Passw0rdForTokenMode4kJ9sD2";

/// Short timeout for waits that should end at once.
pub const SHORT: Duration = Duration::from_secs(5);

/// A temporary directory holding secret files and scripts.
pub struct SecretDir {
    directory: tempfile::TempDir,
}

impl SecretDir {
    /// An empty directory.
    pub fn new() -> Self {
        SecretDir {
            directory: tempfile::tempdir().expect("creating a temporary directory"),
        }
    }

    /// A directory with `api-key` and `api-secret` holding the harness credentials.
    pub fn with_harness_credentials() -> Self {
        let secrets = SecretDir::new();
        secrets.write("api-key", API_KEY);
        secrets.write("api-secret", API_SECRET);
        secrets
    }

    /// The path of `name` inside the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.directory.path().join(name)
    }

    /// Writes `content` to `name` in place: the file keeps its inode.
    pub fn write(&self, name: &str, content: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, content).expect("writing a secret file");
        path
    }

    /// Writes an executable `sh` script named `name` with `body` after the shebang line.
    pub fn script(&self, name: &str, body: &str) -> PathBuf {
        let path = self.write(name, &format!("#!/bin/sh\n{body}\n"));
        let mut permissions = std::fs::metadata(&path)
            .expect("script metadata")
            .permissions();
        permissions.set_mode(0o755);
        std::fs::set_permissions(&path, permissions).expect("making the script executable");
        path
    }
}

/// A proxy builder whose API key and secret come from the files in `secrets`.
pub fn proxy_with_secret_files(upstream: &str, secrets: &SecretDir) -> ProcessBuilder {
    ProxyProcess::builder(upstream)
        .remove_env("REKAZ_API_KEY")
        .remove_env("REKAZ_API_SECRET")
        .env(
            "REKAZ_API_KEY_FILE",
            secrets.path("api-key").to_string_lossy(),
        )
        .env(
            "REKAZ_API_SECRET_FILE",
            secrets.path("api-secret").to_string_lossy(),
        )
}

/// The base URL of the proxy's admin listener, read from its ready line.
pub fn admin_url(proxy: &ProxyProcess) -> String {
    let ready = proxy.wait_for_message("rekaz-proxy listening", SHORT);
    let admin = log_field(&ready, "admin")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("ready line has no `admin` address: {ready}"));
    format!("http://{admin}")
}

/// `GET /readyz` on the admin listener.
pub fn readiness(proxy: &ProxyProcess) -> HttpResponse {
    curl(&[&format!("{}/readyz", admin_url(proxy))])
}

/// Returns the `reason` of a `/readyz` response, or an empty string when it has none.
pub fn readiness_reason(response: &HttpResponse) -> String {
    response.json()["reason"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Makes the sandbox at `sandbox_url` accept only `key` and `secret` from now on.
pub fn regenerate_key(sandbox_url: &str, key: &str, secret: &str) {
    let body = format!(r#"{{"apiKey":"{key}","apiSecret":"{secret}"}}"#);
    let response = curl(&[
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        &body,
        &format!("{sandbox_url}/_sandbox/api-keys/regenerate"),
    ]);
    assert_eq!(response.status, 204, "regenerating the sandbox key");
}

/// `GET /api/public/branches` through the proxy; returns the status.
pub fn get_branches(proxy: &ProxyProcess) -> u16 {
    curl(&[&format!("{}/api/public/branches", proxy.url())]).status
}

/// Returns whether `line` is the store's "credentials reloaded" line for `trigger`.
pub fn is_reload(line: &Value, trigger: &str) -> bool {
    log_message(line) == Some("credentials reloaded; new requests use the new values")
        && log_field(line, "trigger").and_then(Value::as_str) == Some(trigger)
}

/// Access log lines of `proxy`, in order.
pub fn access_lines(proxy: &ProxyProcess) -> Vec<Value> {
    proxy
        .json_logs()
        .into_iter()
        .filter(|line| log_message(line) == Some("exchange"))
        .collect()
}

/// Asserts that no output line of `process` contains any of `secrets`, nor the Basic form of
/// the rotated key, naming the secret's position but never its value.
pub fn assert_logs_free_of(process: &ProxyProcess, secrets: &[&str]) {
    let rotated_basic = basic_credentials(NEW_API_KEY, NEW_API_SECRET);
    let mut markers: Vec<&str> = secrets.to_vec();
    markers.extend([NEW_API_SECRET, PASSWORD, rotated_basic.as_str()]);
    for (number, line) in process.logs().iter().enumerate() {
        for (index, marker) in markers.iter().enumerate() {
            assert!(
                !line.contains(marker),
                "output line {} contains test secret number {index}",
                number + 1
            );
        }
    }
}

/// Waits until `path` no longer exists, for at most [`PROCESS_TIMEOUT`]; returns whether it
/// vanished.
pub fn wait_until_gone(path: &Path) -> bool {
    let deadline = std::time::Instant::now() + PROCESS_TIMEOUT;
    while std::time::Instant::now() < deadline {
        if !path.exists() || is_zombie(path) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Whether the `/proc/<pid>` entry at `path` is a zombie: dead, but not yet reaped by its
/// parent, which for an orphan is whatever init the container runs.
fn is_zombie(path: &Path) -> bool {
    let Ok(stat) = std::fs::read_to_string(path.join("stat")) else {
        return false;
    };
    // The state follows the parenthesised command name, which may itself contain spaces.
    stat.rsplit_once(") ")
        .is_some_and(|(_, rest)| rest.starts_with('Z'))
}
