//! The fake credentials every test uses, and the check that none of their secret forms leaked.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

/// API key given to every proxy and sandbox the harness starts. Logs may show only its first
/// four characters.
pub const API_KEY: &str = "rkz_test_key_7f3a9c21";

/// API secret that belongs to [`API_KEY`]. Plain ASCII letters and digits, so JSON escaping or
/// percent-encoding cannot disguise a leak from the byte search in [`assert_no_secret`].
pub const API_SECRET: &str = "S3cretHarnessValue9xQ7vK2pLm4";

/// Tenant id sent as `__tenant`; a GUID and not secret.
pub const TENANT_ID: &str = "3a1f3638-e6dc-d864-4aa7-df60cdbb1146";

/// A second secret for "wrong secret" cases; it must not leak either.
pub const WRONG_SECRET: &str = "WrongHarnessSecret5tR8wE1qZ";

/// Returns `base64(key:secret)` as it appears after `Basic `.
pub fn basic_credentials(key: &str, secret: &str) -> String {
    STANDARD.encode(format!("{key}:{secret}"))
}

/// Returns the whole `Authorization` value the proxy should inject for the harness credentials.
pub fn expected_authorization() -> String {
    format!("Basic {}", basic_credentials(API_KEY, API_SECRET))
}

/// Returns every form in which the secrets could leak, each with a description that is safe to print.
pub fn secret_markers() -> Vec<(&'static str, String)> {
    vec![
        ("the API secret", API_SECRET.to_owned()),
        ("base64(key:secret)", basic_credentials(API_KEY, API_SECRET)),
        ("the Basic authorization value", expected_authorization()),
        (
            "base64(secret:key), as a swapped-credentials probe sends it",
            basic_credentials(API_SECRET, API_KEY),
        ),
        ("the wrong API secret", WRONG_SECRET.to_owned()),
        (
            "base64(key:wrong secret)",
            basic_credentials(API_KEY, WRONG_SECRET),
        ),
        (
            "base64(wrong secret:key)",
            basic_credentials(WRONG_SECRET, API_KEY),
        ),
    ]
}

/// Panics when `text` contains a secret marker, naming `context` and the marker's description
/// but never the secret itself.
pub fn assert_no_secret(context: &str, text: &str) {
    if let Some(description) = find_secret(text) {
        panic!("{context}: contains {description}");
    }
}

/// Like [`assert_no_secret`] for bytes, such as a response body that may not be UTF-8.
pub fn assert_no_secret_bytes(context: &str, bytes: &[u8]) {
    assert_no_secret(context, &String::from_utf8_lossy(bytes));
}

/// Returns the description of the first secret marker found in `text`.
pub fn find_secret(text: &str) -> Option<&'static str> {
    secret_markers()
        .into_iter()
        .find(|(_, marker)| text.contains(marker.as_str()))
        .map(|(description, _)| description)
}

/// Replaces every secret marker in `text` with a placeholder, so a failing test can print
/// captured output without printing a secret.
pub fn redact(text: &str) -> String {
    let mut markers = secret_markers();
    // Longer markers go first, because the Basic value contains the base64 form.
    markers.sort_by_key(|(_, marker)| std::cmp::Reverse(marker.len()));
    markers
        .into_iter()
        .fold(text.to_owned(), |text, (description, marker)| {
            text.replace(&marker, &format!("<{description}>"))
        })
}
