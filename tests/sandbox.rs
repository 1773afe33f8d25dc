//! Behaviour of the local Rekaz sandbox, driven over real loopback sockets with reqwest.

use std::time::{Duration, Instant};

use base64::Engine as _;
use rekaz_proxy::sandbox::{Sandbox, SandboxConfig, BRANCH_IDS, PRICE_ID, PRODUCT_ID};
use reqwest::header::{HeaderMap, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::{Client, RequestBuilder, StatusCode};
use secrecy::SecretString;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const API_KEY: &str = "sandbox-key";
const API_SECRET: &str = "sandbox-secret";
const TENANT_ID: &str = "3a1f3638-e6dc-d864-4aa7-df60cdbb1146";
const OTHER_TENANT_ID: &str = "0d6c1b2a-4e5f-4a3b-9c8d-7e6f5a4b3c2d";
const USER_AGENT: &str = "rekaz-proxy-tests/0.1";
const TOKEN_USERNAME: &str = "integrator";
const TOKEN_PASSWORD: &str = "correct horse";

/// A sandbox serving on 127.0.0.1 with a random port. Dropping it shuts the server down.
struct RunningSandbox {
    base_url: String,
    sandbox: Sandbox,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningSandbox {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Starts a request with the given `__tenant` and `Authorization` values. reqwest appends
    /// headers, so each is set here once.
    fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        tenant: &str,
        authorization: &str,
    ) -> RequestBuilder {
        client()
            .request(method, self.url(path))
            .header("__tenant", tenant)
            .header("Authorization", authorization)
    }

    /// Starts a request with the tenant header and valid Basic credentials.
    fn authorized(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        let authorization = basic(API_KEY, API_SECRET);
        self.request(method, path, TENANT_ID, &authorization)
    }

    fn get(&self, path: &str) -> RequestBuilder {
        self.authorized(reqwest::Method::GET, path)
    }

    fn get_with_tenant(&self, path: &str, tenant: impl AsRef<str>) -> RequestBuilder {
        let authorization = basic(API_KEY, API_SECRET);
        self.request(reqwest::Method::GET, path, tenant.as_ref(), &authorization)
    }

    fn get_with_authorization(&self, path: &str, authorization: impl AsRef<str>) -> RequestBuilder {
        self.request(
            reqwest::Method::GET,
            path,
            TENANT_ID,
            authorization.as_ref(),
        )
    }

    fn post_json(&self, path: &str, body: &Value) -> RequestBuilder {
        self.authorized(reqwest::Method::POST, path)
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_string())
    }

    fn post_json_with_authorization(
        &self,
        path: &str,
        body: &Value,
        authorization: impl AsRef<str>,
    ) -> RequestBuilder {
        self.request(
            reqwest::Method::POST,
            path,
            TENANT_ID,
            authorization.as_ref(),
        )
        .header(CONTENT_TYPE, "application/json")
        .body(body.to_string())
    }

    /// Requests a token from `/connect/token` with the given form fields and the tenant header.
    async fn request_token(&self, form: &[(&str, &str)]) -> reqwest::Response {
        client()
            .post(self.url("/connect/token"))
            .header("__tenant", TENANT_ID)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Runs the password grant for the configured user and returns the token response body.
    async fn password_grant(&self) -> Value {
        let response = self.request_token(&password_form(TOKEN_PASSWORD)).await;
        assert_eq!(response.status(), StatusCode::OK);
        response_json(response).await
    }

    /// Creates a customer on `/api/public` and returns its body.
    async fn create_customer(&self, mobile_number: &str) -> Value {
        let body = customer_body("Abdulaziz", mobile_number);
        let response = self
            .post_json("/api/public/customers", &body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response_json(response).await
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

fn config() -> SandboxConfig {
    SandboxConfig::new(
        SecretString::from(API_KEY),
        SecretString::from(API_SECRET),
        TENANT_ID.to_owned(),
    )
}

fn config_with_token_user() -> SandboxConfig {
    let mut config = config();
    config.token_user = Some((
        TOKEN_USERNAME.to_owned(),
        SecretString::from(TOKEN_PASSWORD),
    ));
    config
}

async fn start(config: SandboxConfig) -> RunningSandbox {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let sandbox = Sandbox::new(config);
    let (shutdown, shutdown_received) = oneshot::channel::<()>();

    let server = sandbox.clone();
    let task = tokio::spawn(async move {
        let signal = async {
            let _ = shutdown_received.await;
        };
        server.serve(listener, signal).await
    });

    RunningSandbox {
        base_url: format!("http://{address}"),
        sandbox,
        shutdown: Some(shutdown),
        task,
    }
}

/// Builds a client that sends a product User-Agent, follows no redirects and ignores proxy
/// settings.
fn client() -> Client {
    client_builder().user_agent(USER_AGENT).build().unwrap()
}

fn client_builder() -> reqwest::ClientBuilder {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
}

fn basic(key: &str, secret: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{key}:{secret}"));
    format!("Basic {encoded}")
}

fn customer_body(name: &str, mobile_number: &str) -> Value {
    json!({ "name": name, "mobileNumber": mobile_number, "customerType": 1 })
}

fn subscription_body(customer_id: &str) -> Value {
    json!({
        "customerId": customer_id,
        "startAt": "2026-03-01T09:00:00Z",
        "discount": 0,
        "branchId": BRANCH_IDS[0],
        "items": [{ "priceId": PRICE_ID, "quantity": 1 }],
    })
}

fn password_form(password: &str) -> [(&str, &str); 4] {
    [
        ("grant_type", "password"),
        ("username", TOKEN_USERNAME),
        ("password", password),
        ("scope", "Platform offline_access"),
    ]
}

async fn response_json(response: reqwest::Response) -> Value {
    let bytes = response.bytes().await.unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|value| value.to_str().unwrap())
}

fn is_guid(text: &str) -> bool {
    uuid::Uuid::parse_str(text).is_ok()
}

// CDN

#[tokio::test]
async fn cdn_blocks_missing_user_agent() {
    let sandbox = start(config()).await;
    let response = client_builder()
        .build()
        .unwrap()
        .get(sandbox.url("/api/public/branches"))
        .header("__tenant", TENANT_ID)
        .header("Authorization", basic(API_KEY, API_SECRET))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        header(response.headers(), "content-type"),
        Some("text/plain")
    );
    assert_eq!(response.text().await.unwrap(), "error code: 1010");
}

#[tokio::test]
async fn cdn_blocks_python_user_agents() {
    let sandbox = start(config()).await;

    for agent in [
        "Python-urllib/3.12",
        "python-requests/2.32.3",
        "python-httpx/0.27.0",
        "Python/3.12 aiohttp/3.9.5",
    ] {
        let response = sandbox
            .get("/api/public/branches")
            .header("User-Agent", agent)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{agent}");
        assert_eq!(
            response.text().await.unwrap(),
            "error code: 1010",
            "{agent}"
        );
    }
}

#[tokio::test]
async fn cdn_allows_curl_and_browser_agents() {
    let sandbox = start(config()).await;

    for agent in ["curl/8.5.0", "Mozilla/5.0", "node"] {
        let response = sandbox
            .get("/api/public/branches")
            .header("User-Agent", agent)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{agent}");
    }
}

#[tokio::test]
async fn cdn_check_precedes_authentication() {
    let sandbox = start(config()).await;
    let response = client()
        .get(sandbox.url("/api/public/branches"))
        .header("User-Agent", "Python-urllib/3.12")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

// Authentication on /api/public

#[tokio::test]
async fn public_accepts_valid_basic_credentials() {
    let sandbox = start(config()).await;
    let response = sandbox.get("/api/public/branches").send().await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn public_rejects_wrong_secret_with_empty_body() {
    let sandbox = start(config()).await;
    let response = sandbox
        .get_with_authorization("/api/public/branches", basic(API_KEY, "wrong-secret"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers().get(WWW_AUTHENTICATE), None);
    assert_eq!(response.text().await.unwrap(), "");
}

#[tokio::test]
async fn public_rejects_wrong_key() {
    let sandbox = start(config()).await;
    let response = sandbox
        .get_with_authorization("/api/public/branches", basic("other-key", API_SECRET))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn public_rejects_missing_credentials() {
    let sandbox = start(config()).await;
    let response = client()
        .get(sandbox.url("/api/public/branches"))
        .header("__tenant", TENANT_ID)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn public_rejects_malformed_basic_value() {
    let sandbox = start(config()).await;

    for value in [
        "Basic not-base64!",
        "Basic a2V5LXdpdGhvdXQtY29sb24=",
        "Basic",
    ] {
        let response = sandbox
            .get_with_authorization("/api/public/branches", value)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{value}");
    }
}

#[tokio::test]
async fn public_rejects_bearer_token() {
    let sandbox = start(config_with_token_user()).await;
    let tokens = sandbox.password_grant().await;
    let access_token = tokens["access_token"].as_str().unwrap();

    let response = sandbox
        .get_with_authorization("/api/public/branches", format!("Bearer {access_token}"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn public_rejects_unknown_tenant_guid() {
    let sandbox = start(config()).await;
    let response = sandbox
        .get_with_tenant("/api/public/branches", OTHER_TENANT_ID)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let resolve_error = header(response.headers(), "abp-tenant-resolve-error");
    assert_eq!(resolve_error, Some("Tenant not found!"));
}

#[tokio::test]
async fn public_rejects_non_guid_tenant() {
    let sandbox = start(config()).await;
    let response = sandbox
        .get_with_tenant("/api/public/branches", "not-a-tenant")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let resolve_error = header(response.headers(), "abp-tenant-resolve-error");
    assert_eq!(resolve_error, Some("Tenant not found!"));
}

#[tokio::test]
async fn public_rejects_missing_tenant() {
    let sandbox = start(config()).await;
    let response = client()
        .get(sandbox.url("/api/public/branches"))
        .header("Authorization", basic(API_KEY, API_SECRET))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let resolve_error = header(response.headers(), "abp-tenant-resolve-error");
    assert_eq!(resolve_error, None);
}

#[tokio::test]
async fn public_accepts_upper_case_tenant() {
    let sandbox = start(config()).await;
    let response = sandbox
        .get_with_tenant("/api/public/branches", TENANT_ID.to_uppercase())
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
}

// Key regeneration

#[tokio::test]
async fn regenerate_key_revokes_old_key() {
    let sandbox = start(config()).await;
    sandbox.sandbox.regenerate_key(
        SecretString::from("new-key"),
        SecretString::from("new-secret"),
    );

    let old = sandbox.get("/api/public/branches").send().await.unwrap();
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);

    let new = sandbox
        .get_with_authorization("/api/public/branches", basic("new-key", "new-secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(new.status(), StatusCode::OK);
}

#[tokio::test]
async fn control_path_regenerates_key() {
    let sandbox = start(config()).await;
    let regenerated = client()
        .post(sandbox.url("/_sandbox/api-keys/regenerate"))
        .header(CONTENT_TYPE, "application/json")
        .body(json!({ "apiKey": "new-key", "apiSecret": "new-secret" }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(regenerated.status(), StatusCode::NO_CONTENT);

    let old = sandbox.get("/api/public/branches").send().await.unwrap();
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);

    let new = sandbox
        .get_with_authorization("/api/public/branches", basic("new-key", "new-secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(new.status(), StatusCode::OK);
}

#[tokio::test]
async fn control_path_rejects_incomplete_key() {
    let sandbox = start(config()).await;
    let response = client()
        .post(sandbox.url("/_sandbox/api-keys/regenerate"))
        .body(json!({ "apiKey": "new-key" }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    let old = sandbox.get("/api/public/branches").send().await.unwrap();
    assert_eq!(old.status(), StatusCode::OK);
}

#[tokio::test]
async fn control_health_returns_ok() {
    let sandbox = start(config()).await;
    let response = client_builder()
        .build()
        .unwrap()
        .get(sandbox.url("/_sandbox/health"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
}

// Authentication on /api/app

#[tokio::test]
async fn app_accepts_basic_by_default() {
    let sandbox = start(config()).await;
    let body = customer_body("Abdulaziz", "05123456789");
    let response = sandbox
        .post_json("/api/app/customer", &body)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn app_requiring_token_rejects_basic() {
    let mut config = config();
    config.app_requires_token = true;
    let sandbox = start(config).await;

    let body = customer_body("Abdulaziz", "05123456789");
    let response = sandbox
        .post_json("/api/app/customer", &body)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(response.headers(), "www-authenticate"),
        Some("Bearer")
    );
}

#[tokio::test]
async fn app_rejects_wrong_basic_with_bearer_challenge() {
    let sandbox = start(config()).await;
    let body = customer_body("Abdulaziz", "05123456789");
    let response = sandbox
        .post_json_with_authorization("/api/app/customer", &body, basic(API_KEY, "wrong-secret"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(response.headers(), "www-authenticate"),
        Some("Bearer")
    );
}

#[tokio::test]
async fn app_rejects_missing_credentials() {
    let sandbox = start(config()).await;
    let response = client()
        .post(sandbox.url("/api/app/customer"))
        .header("__tenant", TENANT_ID)
        .header(CONTENT_TYPE, "application/json")
        .body(customer_body("Abdulaziz", "05123456789").to_string())
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(response.headers(), "www-authenticate"),
        Some("Bearer")
    );
}

#[tokio::test]
async fn app_accepts_issued_bearer_token() {
    let mut config = config_with_token_user();
    config.app_requires_token = true;
    let sandbox = start(config).await;
    let tokens = sandbox.password_grant().await;
    let access_token = tokens["access_token"].as_str().unwrap();

    let response = sandbox
        .post_json_with_authorization(
            "/api/app/customer",
            &customer_body("Abdulaziz", "0512"),
            format!("Bearer {access_token}"),
        )
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn app_rejects_expired_bearer_token() {
    let mut config = config_with_token_user();
    config.token_lifetime = Duration::ZERO;
    let sandbox = start(config).await;
    let tokens = sandbox.password_grant().await;
    let access_token = tokens["access_token"].as_str().unwrap();

    let response = sandbox
        .post_json_with_authorization(
            "/api/app/customer",
            &customer_body("Abdulaziz", "0512"),
            format!("Bearer {access_token}"),
        )
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = header(response.headers(), "www-authenticate").unwrap();
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\""),
        "{challenge}"
    );
}

#[tokio::test]
async fn app_rejects_unknown_bearer_token() {
    let sandbox = start(config()).await;
    let response = sandbox
        .post_json_with_authorization(
            "/api/app/customer",
            &customer_body("Abdulaziz", "0512"),
            "Bearer 0123456789abcdef0123456789abcdef",
        )
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = header(response.headers(), "www-authenticate").unwrap();
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\""),
        "{challenge}"
    );
}

// /connect/token

#[tokio::test]
async fn token_password_grant_issues_tokens() {
    let sandbox = start(config_with_token_user()).await;
    let response = sandbox.request_token(&password_form(TOKEN_PASSWORD)).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(response.headers(), "cache-control"),
        Some("no-store")
    );
    let body = response_json(response).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert!(body["access_token"]
        .as_str()
        .is_some_and(|token| !token.is_empty()));
    assert!(body["refresh_token"]
        .as_str()
        .is_some_and(|token| !token.is_empty()));
}

#[tokio::test]
async fn token_wrong_password_is_invalid_grant() {
    let sandbox = start(config_with_token_user()).await;
    let response = sandbox.request_token(&password_form("wrong")).await;

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = response_json(response).await;
    assert_eq!(body["error"], "invalid_grant");
    assert!(body["error_description"].is_string());
}

#[tokio::test]
async fn token_without_configured_user_is_invalid_grant() {
    let sandbox = start(config()).await;
    let response = sandbox.request_token(&password_form(TOKEN_PASSWORD)).await;

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response_json(response).await["error"], "invalid_grant");
}

#[tokio::test]
async fn token_foreign_client_is_unauthorized_client() {
    let sandbox = start(config_with_token_user()).await;
    let mut form = password_form(TOKEN_PASSWORD).to_vec();
    form.push(("client_id", "Some_Other_App"));
    let response = sandbox.request_token(&form).await;

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response_json(response).await["error"],
        "unauthorized_client"
    );
}

#[tokio::test]
async fn token_platform_app_client_is_accepted() {
    let sandbox = start(config_with_token_user()).await;
    let mut form = password_form(TOKEN_PASSWORD).to_vec();
    form.push(("client_id", "Platform_App"));
    let response = sandbox.request_token(&form).await;

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn token_refresh_grant_issues_new_token() {
    let mut config = config_with_token_user();
    config.app_requires_token = true;
    let sandbox = start(config).await;
    let first = sandbox.password_grant().await;
    let refresh_token = first["refresh_token"].as_str().unwrap();

    let response = sandbox
        .request_token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let second = response_json(response).await;
    assert_ne!(second["access_token"], first["access_token"]);

    let access_token = second["access_token"].as_str().unwrap();
    let used = sandbox
        .post_json_with_authorization(
            "/api/app/customer",
            &customer_body("Abdulaziz", "0512"),
            format!("Bearer {access_token}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(used.status(), StatusCode::OK);
}

#[tokio::test]
async fn token_unknown_refresh_token_is_invalid_grant() {
    let sandbox = start(config_with_token_user()).await;
    let response = sandbox
        .request_token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "unknown"),
        ])
        .await;

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response_json(response).await["error"], "invalid_grant");
}

#[tokio::test]
async fn token_unsupported_grant_is_rejected() {
    let sandbox = start(config_with_token_user()).await;
    let response = sandbox
        .request_token(&[("grant_type", "client_credentials")])
        .await;

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response_json(response).await["error"],
        "unsupported_grant_type"
    );
}

#[tokio::test]
async fn token_missing_grant_type_is_invalid_request() {
    let sandbox = start(config_with_token_user()).await;
    let response = sandbox.request_token(&[("username", TOKEN_USERNAME)]).await;

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response_json(response).await["error"], "invalid_request");
}

#[tokio::test]
async fn token_requires_form_content_type() {
    let sandbox = start(config_with_token_user()).await;
    let response = client()
        .post(sandbox.url("/connect/token"))
        .header("__tenant", TENANT_ID)
        .header(CONTENT_TYPE, "application/json")
        .body(json!({ "grant_type": "password" }).to_string())
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response_json(response).await["error"], "invalid_request");
}

#[tokio::test]
async fn token_missing_tenant_is_rejected() {
    let sandbox = start(config_with_token_user()).await;
    let response = client()
        .post(sandbox.url("/connect/token"))
        .form(&password_form(TOKEN_PASSWORD))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response_json(response).await["error"], "invalid_grant");
}

#[tokio::test]
async fn token_unknown_tenant_sets_resolve_error() {
    let sandbox = start(config_with_token_user()).await;
    let response = client()
        .post(sandbox.url("/connect/token"))
        .header("__tenant", OTHER_TENANT_ID)
        .form(&password_form(TOKEN_PASSWORD))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let resolve_error = header(response.headers(), "abp-tenant-resolve-error");
    assert_eq!(resolve_error, Some("Tenant not found!"));
}

// Customers

#[tokio::test]
async fn public_customer_creation_returns_customer() {
    let sandbox = start(config()).await;
    let customer = sandbox.create_customer("05123456789").await;

    assert!(customer["id"].as_str().is_some_and(is_guid));
    assert_eq!(customer["name"], "Abdulaziz");
    assert_eq!(customer["mobileNumber"], "05123456789");
    assert_eq!(customer["customerType"], 1);
}

#[tokio::test]
async fn app_customer_creation_returns_customer() {
    let sandbox = start(config()).await;
    let body = json!({
        "name": "Acme Trading",
        "mobileNumber": "0555",
        "customerType": 2,
        "email": "billing@acme.example",
    });
    let response = sandbox
        .post_json("/api/app/customer", &body)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let customer = response_json(response).await;
    assert!(customer["id"].as_str().is_some_and(is_guid));
    assert_eq!(customer["customerType"], 2);
    assert_eq!(customer["email"], "billing@acme.example");
}

#[tokio::test]
async fn created_customer_is_found_by_id() {
    let sandbox = start(config()).await;
    let customer = sandbox.create_customer("05123456789").await;
    let id = customer["id"].as_str().unwrap();

    let response = sandbox
        .get(&format!("/api/public/customers/{id}"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response_json(response).await, customer);
}

#[tokio::test]
async fn customer_list_filters_by_mobile_number() {
    let sandbox = start(config()).await;
    sandbox.create_customer("0501").await;
    let expected_customer = sandbox.create_customer("0502").await;

    let response = sandbox
        .get("/api/public/customers?mobileNumber=0502")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let page = response_json(response).await;
    assert_eq!(page["totalCount"], 1);
    assert_eq!(page["items"][0], expected_customer);
}

#[tokio::test]
async fn unknown_customer_id_is_not_found() {
    let sandbox = start(config()).await;
    let id = "11111111-2222-4333-8444-555555555555";
    let response = sandbox
        .get(&format!("/api/public/customers/{id}"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(response.headers(), "_abperrorformat"), Some("true"));
    let body = response_json(response).await;
    let message = format!("There is no entity Customer with id = {id}!");
    assert_eq!(body["error"]["message"], message);
    assert_eq!(body["error"]["code"], Value::Null);
}

#[tokio::test]
async fn non_guid_customer_id_is_bad_request() {
    let sandbox = start(config()).await;
    let response = sandbox
        .get("/api/public/customers/abc")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = response_json(response).await;
    assert_eq!(
        body["errors"]["id"],
        json!(["The value 'abc' is not valid."])
    );
}

#[tokio::test]
async fn duplicate_mobile_number_is_forbidden() {
    let sandbox = start(config()).await;
    sandbox.create_customer("05123456789").await;

    let body = customer_body("Someone Else", "05123456789");
    let response = sandbox
        .post_json("/api/public/customers", &body)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(header(response.headers(), "_abperrorformat"), Some("true"));
    let expected = json!({ "error": {
        "code": null,
        "message": "Mobile number already exists with different customer",
        "details": null,
        "data": null,
        "validationErrors": null,
    }});
    assert_eq!(response_json(response).await, expected);
}

#[tokio::test]
async fn missing_mobile_number_is_problem_details() {
    let sandbox = start(config()).await;
    let body = json!({ "name": "Abdulaziz", "customerType": 1 });
    let response = sandbox
        .post_json("/api/public/customers", &body)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let content_type = header(response.headers(), "content-type");
    assert_eq!(
        content_type,
        Some("application/problem+json; charset=utf-8")
    );
    let problem = response_json(response).await;
    let problem_type = "https://tools.ietf.org/html/rfc9110#section-15.5.1";
    assert_eq!(problem["type"], problem_type);
    assert_eq!(problem["title"], "One or more validation errors occurred.");
    assert_eq!(problem["status"], 400);
    let errors = json!({ "MobileNumber": ["The MobileNumber field is required."] });
    assert_eq!(problem["errors"], errors);
    let trace_id = problem["traceId"].as_str().unwrap();
    let parts: Vec<&str> = trace_id.split('-').collect();
    assert_eq!(parts.len(), 4, "{trace_id}");
    assert_eq!(parts[0], "00");
    assert_eq!(parts[1].len(), 32, "{trace_id}");
    assert_eq!(parts[2].len(), 16, "{trace_id}");
    assert_eq!(parts[3], "00");
}

#[tokio::test]
async fn out_of_range_customer_type_is_rejected() {
    let sandbox = start(config()).await;
    let body = json!({ "name": "Abdulaziz", "mobileNumber": "0512", "customerType": 3 });
    let response = sandbox
        .post_json("/api/public/customers", &body)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let expected = json!(["The field CustomerType must be between 1 and 2."]);
    assert_eq!(
        response_json(response).await["errors"]["CustomerType"],
        expected
    );
}

#[tokio::test]
async fn non_numeric_customer_type_echoes_value() {
    let sandbox = start(config()).await;
    let body = json!({ "name": "Abdulaziz", "mobileNumber": "0512", "customerType": "one" });
    let response = sandbox
        .post_json("/api/public/customers", &body)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let expected = json!(["The value 'one' is not valid for CustomerType."]);
    assert_eq!(
        response_json(response).await["errors"]["CustomerType"],
        expected
    );
}

#[tokio::test]
async fn invalid_email_is_rejected() {
    let sandbox = start(config()).await;
    let mut body = customer_body("Abdulaziz", "0512");
    body["email"] = json!("not-an-address");
    let response = sandbox
        .post_json("/api/public/customers", &body)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let expected = json!(["The Email field is not a valid e-mail address."]);
    assert_eq!(response_json(response).await["errors"]["Email"], expected);
}

#[tokio::test]
async fn app_validation_uses_abp_envelope() {
    let sandbox = start(config()).await;
    let body = json!({ "mobileNumber": "0512", "customerType": 1 });
    let response = sandbox
        .post_json("/api/app/customer", &body)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(header(response.headers(), "_abperrorformat"), Some("true"));
    let expected = json!({ "error": {
        "code": null,
        "message": "Your request is not valid!",
        "details": "The following errors were detected during validation.\r\n - The Name field is required.\r\n",
        "data": {},
        "validationErrors": [{ "message": "The Name field is required.", "members": ["name"] }],
    }});
    assert_eq!(response_json(response).await, expected);
}

// Malformed bodies

fn internal_error_body() -> Value {
    json!({ "error": {
        "code": null,
        "message": "An internal error occurred during your request!",
        "details": null,
        "data": {},
        "validationErrors": null,
    }})
}

#[tokio::test]
async fn malformed_json_is_internal_error() {
    let sandbox = start(config()).await;

    for path in ["/api/public/customers", "/api/app/subscription"] {
        let response = sandbox
            .authorized(reqwest::Method::POST, path)
            .header(CONTENT_TYPE, "application/json")
            .body("{\"name\": ")
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::INTERNAL_SERVER_ERROR,
            "{path}"
        );
        let format = header(response.headers(), "_abperrorformat");
        assert_eq!(format, Some("true"), "{path}");
        assert_eq!(
            response_json(response).await,
            internal_error_body(),
            "{path}"
        );
    }
}

#[tokio::test]
async fn non_json_content_type_is_internal_error() {
    let sandbox = start(config()).await;
    let response = sandbox
        .authorized(reqwest::Method::POST, "/api/public/customers")
        .header(CONTENT_TYPE, "text/plain")
        .body(customer_body("Abdulaziz", "0512").to_string())
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response_json(response).await, internal_error_body());
}

#[tokio::test]
async fn json_content_type_with_charset_is_accepted() {
    let sandbox = start(config()).await;
    let response = sandbox
        .authorized(reqwest::Method::POST, "/api/public/customers")
        .header(CONTENT_TYPE, "application/json; charset=utf-8")
        .body(customer_body("Abdulaziz", "0512").to_string())
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
}

// Subscriptions

#[tokio::test]
async fn subscription_creation_returns_subscription() {
    let sandbox = start(config()).await;
    let customer = sandbox.create_customer("0512").await;
    let customer_id = customer["id"].as_str().unwrap();

    let response = sandbox
        .post_json("/api/public/subscriptions", &subscription_body(customer_id))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let subscription = response_json(response).await;
    assert!(subscription["id"].as_str().is_some_and(is_guid));
    assert_eq!(subscription["customerId"], customer_id);
    assert_eq!(subscription["items"][0]["priceId"], PRICE_ID);
    assert_eq!(subscription["items"][0]["quantity"], 1);
}

#[tokio::test]
async fn app_subscription_creation_returns_subscription() {
    let sandbox = start(config()).await;
    let customer = sandbox.create_customer("0512").await;
    let customer_id = customer["id"].as_str().unwrap();

    let response = sandbox
        .post_json("/api/app/subscription", &subscription_body(customer_id))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn created_subscription_is_listed_and_found() {
    let sandbox = start(config()).await;
    let customer = sandbox.create_customer("0512").await;
    let created = sandbox
        .post_json(
            "/api/public/subscriptions",
            &subscription_body(customer["id"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    let subscription = response_json(created).await;
    let id = subscription["id"].as_str().unwrap();

    let listed = sandbox
        .get("/api/public/subscriptions")
        .send()
        .await
        .unwrap();
    let page = response_json(listed).await;
    assert_eq!(page["totalCount"], 1);
    assert_eq!(page["items"][0], subscription);

    let found = sandbox
        .get(&format!("/api/public/subscriptions/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(found.status(), StatusCode::OK);
    assert_eq!(response_json(found).await, subscription);
}

#[tokio::test]
async fn subscription_for_unknown_customer_is_not_found() {
    let sandbox = start(config()).await;
    let customer_id = "11111111-2222-4333-8444-555555555555";
    let response = sandbox
        .post_json("/api/public/subscriptions", &subscription_body(customer_id))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(response.headers(), "_abperrorformat"), Some("true"));
    let message = format!("There is no entity Customer with id = {customer_id}!");
    assert_eq!(response_json(response).await["error"]["message"], message);
}

#[tokio::test]
async fn subscription_for_unknown_price_is_not_found() {
    let sandbox = start(config()).await;
    let customer = sandbox.create_customer("0512").await;
    let mut body = subscription_body(customer["id"].as_str().unwrap());
    let price_id = "22222222-3333-4444-8555-666666666666";
    body["items"][0]["priceId"] = json!(price_id);

    let response = sandbox
        .post_json("/api/public/subscriptions", &body)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let message = format!("There is no entity Price with id = {price_id}!");
    assert_eq!(response_json(response).await["error"]["message"], message);
}

#[tokio::test]
async fn invalid_price_id_echoes_value() {
    let sandbox = start(config()).await;
    let customer = sandbox.create_customer("0512").await;
    let mut body = subscription_body(customer["id"].as_str().unwrap());
    body["items"][0]["priceId"] = json!("BAD");

    let response = sandbox
        .post_json("/api/public/subscriptions", &body)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let errors = json!({ "Items[0].PriceId": ["The value 'BAD' is not valid for PriceId."] });
    assert_eq!(response_json(response).await["errors"], errors);
}

#[tokio::test]
async fn invalid_start_at_echoes_value() {
    let sandbox = start(config()).await;
    let customer = sandbox.create_customer("0512").await;
    let mut body = subscription_body(customer["id"].as_str().unwrap());
    body["startAt"] = json!("tomorrow");

    let response = sandbox
        .post_json("/api/public/subscriptions", &body)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let errors = json!({ "StartAt": ["The value 'tomorrow' is not valid for StartAt."] });
    assert_eq!(response_json(response).await["errors"], errors);
}

#[tokio::test]
async fn zero_quantity_is_rejected() {
    let sandbox = start(config()).await;
    let customer = sandbox.create_customer("0512").await;
    let mut body = subscription_body(customer["id"].as_str().unwrap());
    body["items"][0]["quantity"] = json!(0);

    let response = sandbox
        .post_json("/api/public/subscriptions", &body)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let message = "The field Quantity must be between 1 and 2147483647.";
    let errors = json!({ "Items[0].Quantity": [message] });
    assert_eq!(response_json(response).await["errors"], errors);
}

#[tokio::test]
async fn app_subscription_validation_names_nested_member() {
    let sandbox = start(config()).await;
    let customer = sandbox.create_customer("0512").await;
    let mut body = subscription_body(customer["id"].as_str().unwrap());
    body["items"][0]["priceId"] = json!("BAD");

    let response = sandbox
        .post_json("/api/app/subscription", &body)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let envelope = response_json(response).await;
    let expected = json!([{
        "message": "The value 'BAD' is not valid for PriceId.",
        "members": ["items[0].priceId"],
    }]);
    assert_eq!(envelope["error"]["validationErrors"], expected);
}

// Catalog

#[tokio::test]
async fn branches_are_bare_array_of_two() {
    let sandbox = start(config()).await;
    let response = sandbox.get("/api/public/branches").send().await.unwrap();

    let branches = response_json(response).await;
    let ids: Vec<&str> = branches
        .as_array()
        .unwrap()
        .iter()
        .map(|branch| branch["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, BRANCH_IDS);
}

#[tokio::test]
async fn branch_is_found_by_id() {
    let sandbox = start(config()).await;
    let path = format!("/api/public/branches/{}", BRANCH_IDS[1]);
    let response = sandbox.get(&path).send().await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response_json(response).await["id"], BRANCH_IDS[1]);
}

#[tokio::test]
async fn products_list_seeded_price() {
    let sandbox = start(config()).await;
    let response = sandbox.get("/api/public/products").send().await.unwrap();

    let page = response_json(response).await;
    assert_eq!(page["totalCount"], 1);
    assert_eq!(page["items"][0]["id"], PRODUCT_ID);
    assert_eq!(page["items"][0]["prices"][0]["id"], PRICE_ID);
}

#[tokio::test]
async fn product_is_found_by_id() {
    let sandbox = start(config()).await;
    let path = format!("/api/public/products/{PRODUCT_ID}");
    let response = sandbox.get(&path).send().await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response_json(response).await["id"], PRODUCT_ID);
}

// Paging

#[tokio::test]
async fn customer_list_pages_with_skip_and_max() {
    let sandbox = start(config()).await;
    sandbox.create_customer("0501").await;
    let second = sandbox.create_customer("0502").await;
    sandbox.create_customer("0503").await;

    let response = sandbox
        .get("/api/public/customers?skipCount=1&maxResultCount=1")
        .send()
        .await
        .unwrap();

    let page = response_json(response).await;
    assert_eq!(page["totalCount"], 3);
    assert_eq!(page["items"], json!([second]));
}

#[tokio::test]
async fn customer_list_caps_and_defaults_page_size() {
    let sandbox = start(config()).await;
    for index in 0..101 {
        sandbox.create_customer(&format!("05{index:08}")).await;
    }

    let capped = sandbox
        .get("/api/public/customers?maxResultCount=1000")
        .send()
        .await
        .unwrap();
    let capped = response_json(capped).await;
    assert_eq!(capped["items"].as_array().unwrap().len(), 100);
    assert_eq!(capped["totalCount"], 101);

    let default = sandbox.get("/api/public/customers").send().await.unwrap();
    let default = response_json(default).await;
    assert_eq!(default["items"].as_array().unwrap().len(), 10);
}

#[tokio::test]
async fn invalid_skip_count_is_rejected() {
    let sandbox = start(config()).await;
    let response = sandbox
        .get("/api/public/customers?skipCount=many")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let errors = json!({ "SkipCount": ["The value 'many' is not valid for SkipCount."] });
    assert_eq!(response_json(response).await["errors"], errors);
}

// Routing and correlation

#[tokio::test]
async fn unknown_path_is_not_found() {
    let sandbox = start(config()).await;
    let response = sandbox.get("/api/public/unknown").send().await.unwrap();

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn correlation_id_is_echoed() {
    let sandbox = start(config()).await;
    let response = sandbox
        .get("/api/public/branches")
        .header("X-Correlation-Id", "abc123")
        .send()
        .await
        .unwrap();

    assert_eq!(
        header(response.headers(), "x-correlation-id"),
        Some("abc123")
    );
}

#[tokio::test]
async fn correlation_id_is_generated() {
    let sandbox = start(config()).await;
    let response = sandbox.get("/api/public/unknown").send().await.unwrap();

    let correlation_id = header(response.headers(), "x-correlation-id").unwrap();
    assert_eq!(correlation_id.len(), 32, "{correlation_id}");
    assert!(correlation_id.bytes().all(|byte| byte.is_ascii_hexdigit()));
}

#[tokio::test]
async fn correlation_id_is_set_on_cdn_block() {
    let sandbox = start(config()).await;
    let response = client_builder()
        .build()
        .unwrap()
        .get(sandbox.url("/api/public/branches"))
        .header("X-Correlation-Id", "blocked-1")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        header(response.headers(), "x-correlation-id"),
        Some("blocked-1")
    );
}

// Latency and serving

#[tokio::test]
async fn latency_delays_each_response() {
    let latency = Duration::from_millis(200);
    let mut config = config();
    config.latency = latency;
    let sandbox = start(config).await;

    let started = Instant::now();
    let response = sandbox.get("/api/public/branches").send().await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert!(started.elapsed() >= latency, "{:?}", started.elapsed());
}

#[tokio::test]
async fn latency_lets_client_timeout_fire() {
    let mut config = config();
    config.latency = Duration::from_secs(30);
    let sandbox = start(config).await;

    let result = sandbox
        .get("/api/public/branches")
        .timeout(Duration::from_millis(100))
        .send()
        .await;

    let error = result.unwrap_err();
    assert!(error.is_timeout(), "{error}");
}

#[tokio::test]
async fn latency_skips_control_paths() {
    let mut config = config();
    config.latency = Duration::from_secs(30);
    let sandbox = start(config).await;

    let response = client()
        .get(sandbox.url("/_sandbox/health"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn serve_stops_on_shutdown_signal() {
    let mut sandbox = start(config()).await;
    let response = sandbox.get("/api/public/branches").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    drop(response);

    sandbox.shutdown.take().unwrap().send(()).unwrap();
    let task = std::mem::replace(&mut sandbox.task, tokio::spawn(async { Ok(()) }));
    let result = task.await.unwrap();

    assert!(result.is_ok(), "{result:?}");
}
