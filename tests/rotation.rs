//! Rotation without restart: secret files changed in place, by rename and by a Kubernetes
//! `..data` swap; a key revoked in Rekaz recovered by re-reading and replaying; a failing source
//! keeping the last good values; SIGHUP and the command interval. Real processes throughout:
//! the sandbox as the fake Rekaz and `rekaz-proxy run` in front of it.

mod common;
mod rotation_support;

use std::sync::Arc;

use common::*;
use rotation_support::*;
use serde_json::Value;

/// A sandbox whose key the test can regenerate, and a proxy reading key and secret from files.
fn sandbox_and_file_proxy(secrets: &SecretDir) -> (SandboxProcess, ProxyProcess) {
    let sandbox = SandboxProcess::start();
    let proxy = proxy_with_secret_files(&sandbox.url(), secrets).start();
    (sandbox, proxy)
}

/// Regenerates the sandbox key, changes the secret files with `update`, waits until the
/// watcher reloads them, and checks that the next call succeeds without a replay.
fn assert_file_change_picked_up(secrets: &SecretDir, update: impl FnOnce(&SecretDir)) {
    let (sandbox, proxy) = sandbox_and_file_proxy(secrets);
    assert_eq!(get_branches(&proxy), 200, "call before the rotation");

    regenerate_key(&sandbox.url(), NEW_API_KEY, NEW_API_SECRET);
    update(secrets);
    proxy.wait_for_log(|line| is_reload(line, "file_changed"), PROCESS_TIMEOUT);

    assert_eq!(get_branches(&proxy), 200, "call after the rotation");
    let accesses = access_lines(&proxy);
    assert!(
        accesses.iter().all(|line| line["replayed"] == false),
        "a call needed a replay, so the watcher was late"
    );
    assert_logs_free_of(&proxy, &[]);
}

fn kubernetes_volume(secrets: &SecretDir, stamp: &str, key: &str, secret: &str) {
    let directory = secrets.path(stamp);
    std::fs::create_dir(&directory).unwrap();
    std::fs::write(directory.join("api-key"), key).unwrap();
    std::fs::write(directory.join("api-secret"), secret).unwrap();
}

/// Points `..data` at `stamp` the way the kubelet does: a new symlink renamed over the old.
fn swap_data_link(secrets: &SecretDir, stamp: &str) {
    let staging = secrets.path("..data_tmp");
    std::os::unix::fs::symlink(stamp, &staging).unwrap();
    std::fs::rename(&staging, secrets.path("..data")).unwrap();
}

#[test]
fn in_place_rewrite_is_picked_up() {
    let secrets = SecretDir::with_harness_credentials();
    assert_file_change_picked_up(&secrets, |secrets| {
        secrets.write("api-key", NEW_API_KEY);
        secrets.write("api-secret", NEW_API_SECRET);
    });
}

#[test]
fn rename_replacement_is_picked_up() {
    let secrets = SecretDir::with_harness_credentials();
    assert_file_change_picked_up(&secrets, |secrets| {
        for (name, value) in [("api-key", NEW_API_KEY), ("api-secret", NEW_API_SECRET)] {
            let staging = secrets.write(&format!(".{name}.swp"), value);
            std::fs::rename(staging, secrets.path(name)).unwrap();
        }
    });
}

#[test]
fn kubernetes_data_swap_is_picked_up() {
    let secrets = SecretDir::new();
    kubernetes_volume(&secrets, "..2026_12_04_10_00_00.1", API_KEY, API_SECRET);
    std::os::unix::fs::symlink("..2026_12_04_10_00_00.1", secrets.path("..data")).unwrap();
    for name in ["api-key", "api-secret"] {
        std::os::unix::fs::symlink(format!("..data/{name}"), secrets.path(name)).unwrap();
    }

    assert_file_change_picked_up(&secrets, |secrets| {
        kubernetes_volume(
            secrets,
            "..2026_12_04_11_00_00.2",
            NEW_API_KEY,
            NEW_API_SECRET,
        );
        swap_data_link(secrets, "..2026_12_04_11_00_00.2");
        std::fs::remove_dir_all(secrets.path("..2026_12_04_10_00_00.1")).unwrap();
    });
}

/// A proxy whose secret comes from a command that prints a file, which is not watched, so
/// only a 401 re-reads it. The script appends a line to `runs` each time it runs.
fn proxy_with_unwatched_secret(upstream: &str, secrets: &SecretDir) -> ProxyProcess {
    secrets.write("key-value", API_KEY);
    secrets.write("secret-value", API_SECRET);
    let runs = secrets.path("runs").to_string_lossy().into_owned();
    let print = |value_file: &str| {
        let file = secrets.path(value_file).to_string_lossy().into_owned();
        let script = secrets.script(
            &format!("print-{value_file}"),
            &format!("echo run >> '{runs}'\ncat '{file}'"),
        );
        format!("command:{}", script.to_string_lossy())
    };
    ProxyProcess::builder(upstream)
        .remove_env("REKAZ_API_KEY")
        .remove_env("REKAZ_API_SECRET")
        .env("REKAZ_PROXY__CREDENTIALS__API_KEY", print("key-value"))
        .env(
            "REKAZ_PROXY__CREDENTIALS__API_SECRET",
            print("secret-value"),
        )
        .env("REKAZ_PROXY__CREDENTIALS__COMMAND_INTERVAL", "0s")
        .start()
}

/// Regenerates the sandbox key and stores the new values where the commands read them.
fn rotate_unwatched(sandbox: &SandboxProcess, secrets: &SecretDir) {
    regenerate_key(&sandbox.url(), NEW_API_KEY, NEW_API_SECRET);
    secrets.write("key-value", NEW_API_KEY);
    secrets.write("secret-value", NEW_API_SECRET);
}

/// Times the key and secret commands ran.
fn command_runs(secrets: &SecretDir) -> usize {
    std::fs::read_to_string(secrets.path("runs"))
        .unwrap_or_default()
        .lines()
        .count()
}

#[test]
fn revoked_key_is_recovered_by_replay() {
    let secrets = SecretDir::new();
    let sandbox = SandboxProcess::start();
    let proxy = proxy_with_unwatched_secret(&sandbox.url(), &secrets);
    assert_eq!(get_branches(&proxy), 200);

    rotate_unwatched(&sandbox, &secrets);
    let response = curl(&[&format!("{}/api/public/branches", proxy.url())]);

    assert_eq!(response.status, 200);
    proxy.wait_for_log(|line| is_reload(line, "rejected_by_rekaz"), SHORT);
    let accesses = proxy.wait_for_logs(|line| log_message(line) == Some("exchange"), 2, SHORT);
    assert_eq!(accesses[1]["replayed"], true);
    assert_logs_free_of(&proxy, &[]);
}

#[test]
fn held_post_body_is_replayed_once() {
    let secrets = SecretDir::new();
    let sandbox = SandboxProcess::start();
    let proxy = proxy_with_unwatched_secret(&sandbox.url(), &secrets);
    rotate_unwatched(&sandbox, &secrets);

    let customer = r#"{"name":"Sara","mobileNumber":"0501112222","customerType":1}"#;
    let created = curl(&[
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        customer,
        &format!("{}/api/public/customers", proxy.url()),
    ]);
    let listed = curl(&[&format!(
        "{}/api/public/customers?mobileNumber=0501112222",
        proxy.url()
    )]);

    assert_eq!(created.status, 200, "{}", created.text());
    assert_eq!(listed.json()["totalCount"], 1, "{}", listed.text());
}

#[test]
fn streamed_body_is_not_replayed() {
    let secrets = SecretDir::new();
    // Unlike the sandbox, this upstream reads the whole body before it rejects the request,
    // so the proxy always sees the 401 rather than a connection closed mid-body.
    let revoked = expected_authorization();
    let upstream = RecordingUpstream::start(move |request| {
        match request.header("authorization") == Some(revoked.as_str()) {
            true => Reply::status(401),
            false => Reply::ok(),
        }
    });
    let proxy = proxy_with_unwatched_secret(&upstream.url(), &secrets);
    secrets.write("key-value", NEW_API_KEY);
    secrets.write("secret-value", NEW_API_SECRET);

    let padding = "x".repeat(70_000);
    let body_file = secrets.write("large-body.json", &format!(r#"{{"padding":"{padding}"}}"#));
    let response = curl(&[
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        &format!("@{}", body_file.to_string_lossy()),
        &format!("{}/api/public/customers", proxy.url()),
    ]);

    assert_eq!(response.status, 401);
    proxy.wait_for_log(
        |line| log_message(line).is_some_and(|message| message.contains("could not send it again")),
        SHORT,
    );
    // The diagnosis may send a GET probe of its own, so only POSTs count.
    let posts = upstream
        .requests()
        .into_iter()
        .filter(|request| request.method == "POST")
        .count();
    assert_eq!(posts, 1, "the streamed request was sent again");
    assert_eq!(get_branches(&proxy), 200, "the renewed credentials work");
}

#[test]
fn concurrent_rejections_share_one_reread() {
    let secrets = SecretDir::new();
    let sandbox = SandboxProcess::start();
    let proxy = Arc::new(proxy_with_unwatched_secret(&sandbox.url(), &secrets));
    let runs_at_start = command_runs(&secrets);
    rotate_unwatched(&sandbox, &secrets);

    let callers: Vec<_> = (0..6)
        .map(|_| {
            let proxy = Arc::clone(&proxy);
            std::thread::spawn(move || get_branches(&proxy))
        })
        .collect();
    let statuses: Vec<u16> = callers
        .into_iter()
        .map(|caller| caller.join().unwrap())
        .collect();

    assert_eq!(statuses, [200; 6]);
    // One re-read runs the key command and the secret command once each.
    assert_eq!(command_runs(&secrets) - runs_at_start, 2);
}

#[test]
fn failing_source_keeps_last_good_values() {
    let secrets = SecretDir::with_harness_credentials();
    let (_sandbox, proxy) = sandbox_and_file_proxy(&secrets);
    assert_eq!(readiness(&proxy).status, 200);

    secrets.write("api-secret", "");
    proxy.wait_for_log(|line| line["level"] == "ERROR", PROCESS_TIMEOUT);

    let ready = readiness(&proxy);
    assert_eq!(ready.status, 503);
    let reason = readiness_reason(&ready);
    assert!(reason.contains("api-secret is empty"), "{reason}");
    assert_eq!(
        get_branches(&proxy),
        200,
        "the last good values stay in use"
    );

    secrets.write("api-secret", API_SECRET);
    proxy.wait_for_message("credential sources readable again", PROCESS_TIMEOUT);
    assert_eq!(readiness(&proxy).status, 200);
}

#[test]
fn failure_streak_logs_one_error() {
    let secrets = SecretDir::with_harness_credentials();
    let sandbox = SandboxProcess::start();
    let proxy = proxy_with_secret_files(&sandbox.url(), &secrets)
        .env("REKAZ_PROXY__LOG__LEVEL", "debug")
        .start();

    secrets.write("api-secret", "");
    proxy.wait_for_log(|line| line["level"] == "ERROR", PROCESS_TIMEOUT);
    std::fs::remove_file(secrets.path("api-secret")).unwrap();
    proxy.signal("HUP");
    proxy.wait_for_message("credentials still unreadable", PROCESS_TIMEOUT);
    secrets.write("api-secret", API_SECRET);
    proxy.wait_for_message("credential sources readable again", PROCESS_TIMEOUT);

    let errors: Vec<Value> = proxy
        .json_logs()
        .into_iter()
        .filter(|line| line["level"] == "ERROR")
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
}

#[test]
fn sighup_rereads_unwatched_sources() {
    let secrets = SecretDir::new();
    let sandbox = SandboxProcess::start();
    let proxy = proxy_with_unwatched_secret(&sandbox.url(), &secrets);

    rotate_unwatched(&sandbox, &secrets);
    proxy.signal("HUP");
    proxy.wait_for_log(|line| is_reload(line, "sighup"), PROCESS_TIMEOUT);

    assert_eq!(get_branches(&proxy), 200);
    assert_eq!(access_lines(&proxy)[0]["replayed"], false);
}

#[test]
fn command_interval_reruns_commands() {
    let secrets = SecretDir::new();
    secrets.write("secret-value", API_SECRET);
    let value = secrets.path("secret-value").to_string_lossy().into_owned();
    let script = secrets.script("secret", &format!("cat '{value}'"));
    let sandbox = SandboxProcess::start();
    let proxy = ProxyProcess::builder(&sandbox.url())
        .remove_env("REKAZ_API_SECRET")
        .env(
            "REKAZ_PROXY__CREDENTIALS__API_SECRET",
            format!("command:{}", script.to_string_lossy()),
        )
        .env("REKAZ_PROXY__CREDENTIALS__COMMAND_INTERVAL", "200ms")
        .start();

    secrets.write("secret-value", WRONG_SECRET);

    let reload = proxy.wait_for_log(|line| is_reload(line, "command_interval"), PROCESS_TIMEOUT);
    assert!(
        reload.to_string().contains("API secret from command:"),
        "{reload}"
    );
}

#[test]
fn env_sources_are_not_reread() {
    let sandbox = SandboxProcess::start();
    let proxy = ProxyProcess::start(&sandbox.url());

    regenerate_key(&sandbox.url(), NEW_API_KEY, NEW_API_SECRET);

    assert_eq!(get_branches(&proxy), 401);
    let rereads = proxy
        .json_logs()
        .into_iter()
        .filter(|line| log_field(line, "trigger").is_some())
        .count();
    assert_eq!(rereads, 0, "an environment source was re-read");
}

#[test]
fn healthz_answers_while_serving() {
    let upstream = RecordingUpstream::ok();
    let proxy = ProxyProcess::start(&upstream.url());

    let health = curl(&[&format!("{}/healthz", admin_url(&proxy))]);

    assert_eq!(health.status, 200);
    assert_eq!(health.json()["status"], "serving");
}

#[test]
fn watched_directory_follows_symlinked_file() {
    let secrets = SecretDir::with_harness_credentials();
    let mounted = SecretDir::new();
    for name in ["api-key", "api-secret"] {
        std::os::unix::fs::symlink(secrets.path(name), mounted.path(name)).unwrap();
    }

    assert_file_change_picked_up_through(&secrets, &mounted);
}

/// Like [`assert_file_change_picked_up`], for a proxy that reads `mounted`, whose files are
/// symlinks into `secrets`, where the change happens.
fn assert_file_change_picked_up_through(secrets: &SecretDir, mounted: &SecretDir) {
    let (sandbox, proxy) = sandbox_and_file_proxy(mounted);
    regenerate_key(&sandbox.url(), NEW_API_KEY, NEW_API_SECRET);
    secrets.write("api-key", NEW_API_KEY);
    secrets.write("api-secret", NEW_API_SECRET);

    proxy.wait_for_log(|line| is_reload(line, "file_changed"), PROCESS_TIMEOUT);
    assert_eq!(get_branches(&proxy), 200);
}

#[test]
fn repeated_rejections_are_spaced() {
    let secrets = SecretDir::new();
    let sandbox = SandboxProcess::start();
    let proxy = proxy_with_unwatched_secret(&sandbox.url(), &secrets);
    let runs_at_start = command_runs(&secrets);
    regenerate_key(&sandbox.url(), NEW_API_KEY, NEW_API_SECRET);

    let statuses = [get_branches(&proxy), get_branches(&proxy)];

    assert_eq!(statuses, [401, 401]);
    // The first rejection re-reads key and secret once; the second comes too soon after it.
    assert_eq!(command_runs(&secrets) - runs_at_start, 2);
}

#[test]
fn invalid_tenant_file_reload_hides_value() {
    let secrets = SecretDir::with_harness_credentials();
    secrets.write("tenant-id", TENANT_ID);
    let sandbox = SandboxProcess::start();
    let proxy = proxy_with_secret_files(&sandbox.url(), &secrets)
        .remove_env("REKAZ_TENANT_ID")
        .env(
            "REKAZ_TENANT_ID_FILE",
            secrets.path("tenant-id").to_string_lossy(),
        )
        .start();

    // A secret written to the tenant id file by mistake; the drop-time scan finds it anywhere.
    secrets.write("tenant-id", API_SECRET);
    let error = proxy.wait_for_log(|line| line["level"] == "ERROR", PROCESS_TIMEOUT);
    let ready = readiness(&proxy);

    let message = log_field(&error, "error")
        .and_then(Value::as_str)
        .unwrap_or_default();
    assert!(message.contains("tenant id from file:"), "{message}");
    assert!(message.contains("expected a GUID"), "{message}");
    assert!(!message.contains(API_SECRET), "the error shows the value");
    assert_eq!(ready.status, 503);
    let reason = readiness_reason(&ready);
    assert!(reason.contains("expected a GUID"), "{reason}");
    assert!(!reason.contains(API_SECRET), "/readyz shows the value");
}
