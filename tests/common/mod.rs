//! Test harness shared by the integration tests: the fake credentials and the secret scan,
//! `rekaz-proxy` child processes, a recording upstream, an in-process sandbox, and clients.
//!
//! Every process, response and log line that passes through the harness is checked for the
//! secret in all its forms, so a test proves that nothing leaked without asking for it.

// Each test file uses a different part of the harness.
#![allow(dead_code, unused_imports)]

pub mod client;
pub mod process;
pub mod sandbox;
pub mod secrets;
pub mod upstream;
pub mod watched;

pub use client::{
    assert_proxy_error, curl, curl_output, parse_response, python_http_client, raw_get, raw_http,
    raw_request, HttpResponse,
};
pub use process::{
    log_field, log_message, log_target, ProcessBuilder, ProxyProcess, SandboxProcess, Stream,
    PROCESS_TIMEOUT,
};
pub use sandbox::InProcessSandbox;
pub use secrets::{
    assert_no_secret, assert_no_secret_bytes, basic_credentials, expected_authorization,
    secret_markers, API_KEY, API_SECRET, TENANT_ID, WRONG_SECRET,
};
pub use upstream::{Gate, RecordedRequest, RecordingUpstream, Reply};
