//! Validation rules of [`Settings`], fed through every layer with [`crate::config::load`].

use std::path::Path;
use std::time::Duration;

use super::*;
use crate::config::{load, ConfigError, Overrides};
use crate::credentials::Source;
use crate::env::EnvVars;

fn load_env(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let env: EnvVars = pairs.iter().copied().collect();
    load(None, &env, &Overrides::new())
}

fn load_file(toml: &str) -> Result<Settings, ConfigError> {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let path = directory.path().join("rekaz-proxy.toml");
    std::fs::write(&path, toml).expect("writing the configuration file");
    load(Some(&path), &EnvVars::default(), &Overrides::new())
}

/// Loads with one environment variable and returns the error message.
fn env_error(name: &str, value: &str) -> String {
    match load_env(&[(name, value)]) {
        Ok(_) => panic!("{name}={value:?} was accepted"),
        Err(error) => error.to_string(),
    }
}

fn file_error(toml: &str) -> String {
    match load_file(toml) {
        Ok(_) => panic!("configuration was accepted:\n{toml}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn defaults_are_valid() {
    let settings = load_env(&[]).expect("the defaults load");
    assert_eq!(settings.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(settings.upstream.url.as_str(), "https://platform.rekaz.io/");
    assert_eq!(settings.upstream.timeout, Duration::from_secs(30));
    assert_eq!(settings.upstream.user_agent, crate::USER_AGENT);
    assert_eq!(settings.log.format, LogFormat::Text);
}

#[test]
fn listen_rejects_host_name() {
    let message = env_error("REKAZ_PROXY__LISTEN", "localhost:8080");
    assert!(message.contains("`listen`"), "{message}");
    assert!(message.contains("localhost:8080"), "{message}");
}

#[test]
fn upstream_base_path_loses_trailing_slash() {
    let settings = load_env(&[("REKAZ_PROXY__UPSTREAM__URL", "https://rekaz.test/base/")])
        .expect("an https URL with a path loads");
    assert_eq!(settings.upstream.url.as_str(), "https://rekaz.test/base");
}

#[test]
fn upstream_http_accepted_on_loopback() {
    for url in [
        "http://127.0.0.1:9000",
        "http://localhost:9000",
        "http://[::1]:9000",
        "http://127.10.0.1",
    ] {
        let loaded = load_env(&[("REKAZ_PROXY__UPSTREAM__URL", url)]);
        assert!(loaded.is_ok(), "{url} was rejected: {:?}", loaded.err());
    }
}

#[test]
fn upstream_http_rejected_off_loopback() {
    for url in [
        "http://platform.rekaz.io",
        "http://10.0.0.5:8080",
        "http://localhost.rekaz.test",
    ] {
        let message = env_error("REKAZ_PROXY__UPSTREAM__URL", url);
        assert!(message.contains("`upstream.url`"), "{message}");
        assert!(message.contains(url), "{message}");
        assert!(message.contains("https://"), "no fix named: {message}");
    }
}

#[test]
fn upstream_rejects_other_schemes() {
    let message = env_error("REKAZ_PROXY__UPSTREAM__URL", "ftp://platform.rekaz.io");
    assert!(message.contains("ftp://platform.rekaz.io"), "{message}");
}

#[test]
fn upstream_user_info_is_not_echoed() {
    let message = env_error(
        "REKAZ_PROXY__UPSTREAM__URL",
        "https://key:hunter2@rekaz.test",
    );
    assert!(message.contains("`upstream.url`"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

#[test]
fn upstream_rejects_query_and_fragment() {
    for url in ["https://rekaz.test/?a=1", "https://rekaz.test/#top"] {
        let message = env_error("REKAZ_PROXY__UPSTREAM__URL", url);
        assert!(message.contains("query and fragment"), "{message}");
    }
}

#[test]
fn durations_reject_bad_values() {
    let keys = [
        (
            "REKAZ_PROXY__UPSTREAM__CONNECT_TIMEOUT",
            "upstream.connect_timeout",
        ),
        ("REKAZ_PROXY__UPSTREAM__TIMEOUT", "upstream.timeout"),
        (
            "REKAZ_PROXY__UPSTREAM__READ_TIMEOUT",
            "upstream.read_timeout",
        ),
        (
            "REKAZ_PROXY__UPSTREAM__POOL_IDLE_TIMEOUT",
            "upstream.pool_idle_timeout",
        ),
        (
            "REKAZ_PROXY__LIMITS__SHUTDOWN_GRACE",
            "limits.shutdown_grace",
        ),
        (
            "REKAZ_PROXY__LIMITS__CLIENT_HEADER_TIMEOUT",
            "limits.client_header_timeout",
        ),
        (
            "REKAZ_PROXY__LIMITS__CLIENT_IDLE_TIMEOUT",
            "limits.client_idle_timeout",
        ),
    ];
    for (variable, key) in keys {
        for value in ["soon", "30", "0s"] {
            let message = env_error(variable, value);
            assert!(message.contains(&format!("`{key}`")), "{message}");
            assert!(message.contains(&format!("{value:?}")), "{message}");
        }
    }
}

#[test]
fn durations_accept_humantime() {
    let settings = load_env(&[("REKAZ_PROXY__UPSTREAM__TIMEOUT", "1m 500ms")])
        .expect("a humantime duration loads");
    assert_eq!(settings.upstream.timeout, Duration::from_millis(60_500));
}

#[test]
fn user_agent_accepts_product_string() {
    let settings = load_env(&[("REKAZ_PROXY__UPSTREAM__USER_AGENT", "acme/2.1 (ops)")])
        .expect("a product string loads");
    assert_eq!(settings.upstream.user_agent, "acme/2.1 (ops)");
}

#[test]
fn user_agent_rejects_control_characters() {
    let message = env_error("REKAZ_PROXY__UPSTREAM__USER_AGENT", "acme\u{1}/1");
    assert!(message.contains("`upstream.user_agent`"), "{message}");
}

#[test]
fn ca_bundle_must_exist() {
    let message = env_error("REKAZ_PROXY__UPSTREAM__CA_BUNDLE", "/nonexistent/ca.pem");
    assert!(message.contains("`upstream.ca_bundle`"), "{message}");
    assert!(message.contains("/nonexistent/ca.pem"), "{message}");
}

#[test]
fn body_limit_rejects_zero() {
    let message = env_error("REKAZ_PROXY__LIMITS__MAX_REQUEST_BODY_BYTES", "0");
    assert!(
        message.contains("`limits.max_request_body_bytes`"),
        "{message}"
    );
}

#[test]
fn connection_limits_have_defaults() {
    let limits = load_env(&[]).expect("the defaults load").limits;
    assert_eq!(limits.client_header_timeout, Duration::from_secs(10));
    assert_eq!(limits.client_idle_timeout, Duration::from_secs(60));
    assert_eq!(limits.max_connections, 1024);
}

#[test]
fn max_connections_rejects_zero() {
    let message = env_error("REKAZ_PROXY__LIMITS__MAX_CONNECTIONS", "0");
    assert!(message.contains("`limits.max_connections`"), "{message}");
}

#[test]
fn admin_listen_rejects_proxy_address() {
    let cases = [
        ("127.0.0.1:8080", "127.0.0.1:8080"),
        ("0.0.0.0:8080", "127.0.0.1:8080"),
        ("127.0.0.1:8080", "0.0.0.0:8080"),
        ("[::]:8080", "127.0.0.1:8080"),
    ];
    for (listen, admin) in cases {
        let loaded = load_env(&[
            ("REKAZ_PROXY__LISTEN", listen),
            ("REKAZ_PROXY__ADMIN__LISTEN", admin),
        ]);
        let message = match loaded {
            Ok(_) => panic!("listen {listen} with admin.listen {admin} was accepted"),
            Err(error) => error.to_string(),
        };
        assert!(message.contains("`admin.listen`"), "{message}");
        assert!(message.contains("`listen`"), "{message}");
        assert!(message.contains(admin), "{message}");
    }
}

#[test]
fn admin_listen_accepts_other_ports() {
    let cases = [
        ("127.0.0.1:8080", "127.0.0.1:9090"),
        ("127.0.0.1:0", "127.0.0.1:0"),
        ("127.0.0.1:8080", "127.0.0.2:8080"),
    ];
    for (listen, admin) in cases {
        let loaded = load_env(&[
            ("REKAZ_PROXY__LISTEN", listen),
            ("REKAZ_PROXY__ADMIN__LISTEN", admin),
        ]);
        assert!(
            loaded.is_ok(),
            "listen {listen} with admin.listen {admin} was rejected: {:?}",
            loaded.err()
        );
    }
}

#[test]
fn body_limit_rejects_text() {
    let message = env_error("REKAZ_PROXY__LIMITS__MAX_REQUEST_BODY_BYTES", "lots");
    assert!(
        message.contains("limits.max_request_body_bytes"),
        "{message}"
    );
    assert!(message.contains("lots"), "{message}");
}

#[test]
fn log_format_rejects_unknown() {
    let message = env_error("REKAZ_PROXY__LOG__FORMAT", "xml");
    assert!(message.contains("`log.format`"), "{message}");
    assert!(message.contains("\"xml\""), "{message}");
}

#[test]
fn log_level_rejects_bad_filter() {
    let message = env_error("REKAZ_PROXY__LOG__LEVEL", "info,[bad");
    assert!(message.contains("`log.level`"), "{message}");
}

#[test]
fn repeat_window_defaults_to_a_minute() {
    let settings = load_env(&[]).expect("the defaults load");
    assert_eq!(settings.log.repeat_window, Duration::from_secs(60));
}

#[test]
fn repeat_window_rejects_zero() {
    let message = env_error("REKAZ_PROXY__LOG__REPEAT_WINDOW", "0s");
    assert!(message.contains("`log.repeat_window`"), "{message}");
}

#[test]
fn unknown_variable_is_named() {
    let message = env_error("REKAZ_PROXY__UPSTREAM__RETRIES", "3");
    assert!(
        message.contains("REKAZ_PROXY__UPSTREAM__RETRIES"),
        "{message}"
    );
}

#[test]
fn unknown_file_key_is_named() {
    let message = file_error("[upstream]\nretries = 3\n");
    assert!(message.contains("upstream.retries"), "{message}");
}

#[test]
fn literal_secret_is_rejected_unshown() {
    for key in ["api_key", "api_secret"] {
        let message = file_error(&format!("[credentials]\n{key} = \"hunter2-literal\"\n"));
        assert!(
            message.contains(&format!("`credentials.{key}`")),
            "{message}"
        );
        assert!(!message.contains("hunter2-literal"), "{message}");
    }
}

#[test]
fn literal_tenant_is_accepted() {
    let tenant = "3a1f3638-e6dc-d864-4aa7-df60cdbb1146";
    let settings = load_file(&format!("[credentials]\ntenant_id = \"{tenant}\"\n"))
        .expect("a literal tenant id loads");
    assert_eq!(
        settings.credentials.tenant_id,
        Source::Literal(tenant.to_owned())
    );
}

#[test]
fn sources_parse_env_and_file() {
    let settings = load_file(
        "[credentials]\napi_key = \"env:MY_KEY\"\napi_secret = \"file:/run/secrets/rekaz\"\n",
    )
    .expect("env: and file: sources load");
    assert_eq!(
        settings.credentials.api_key,
        Source::Env("MY_KEY".to_owned())
    );
    assert_eq!(
        settings.credentials.api_secret,
        Source::File(Path::new("/run/secrets/rekaz").to_path_buf())
    );
}

#[test]
fn sources_reject_empty_names() {
    for spec in ["env:", "file:"] {
        let message = file_error(&format!("[credentials]\napi_secret = \"{spec}\"\n"));
        assert!(message.contains("`credentials.api_secret`"), "{message}");
    }
}

#[test]
fn secret_file_variable_selects_file() {
    let settings = load_env(&[("REKAZ_API_SECRET_FILE", "/run/secrets/rekaz_secret")])
        .expect("the _FILE default loads");
    assert_eq!(
        settings.credentials.api_secret,
        Source::File(Path::new("/run/secrets/rekaz_secret").to_path_buf())
    );
    assert_eq!(
        settings.credentials.api_key,
        Source::Env("REKAZ_API_KEY".to_owned())
    );
}

#[test]
fn layers_override_in_order() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let path = directory.path().join("rekaz-proxy.toml");
    std::fs::write(
        &path,
        "listen = \"127.0.0.1:7001\"\n[upstream]\ntimeout = \"7s\"\n",
    )
    .expect("writing the configuration file");
    let env: EnvVars = [
        ("REKAZ_PROXY__LISTEN", "127.0.0.1:7002"),
        ("REKAZ_PROXY__LOG__FORMAT", "json"),
    ]
    .into_iter()
    .collect();
    let overrides = vec![("listen", "127.0.0.1:7003".to_owned())];

    let settings = load(Some(&path), &env, &overrides).expect("the layers load");

    assert_eq!(settings.listen.to_string(), "127.0.0.1:7003");
    assert_eq!(settings.upstream.timeout, Duration::from_secs(7));
    assert_eq!(settings.log.format, LogFormat::Json);
}

#[test]
fn missing_file_is_named() {
    let path = Path::new("/nonexistent/rekaz-proxy.toml");
    let message = load(Some(path), &EnvVars::default(), &Overrides::new())
        .expect_err("a missing file is rejected")
        .to_string();
    assert!(
        message.contains("/nonexistent/rekaz-proxy.toml"),
        "{message}"
    );
}
