//! `rekaz-proxy demo`: the quick start through the proxy against the local sandbox.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::config::{self, LogFormat, LogSettings};
use crate::diagnosis::{Cause, DEFAULT_REPEAT_WINDOW};
use crate::env::EnvVars;
use crate::proxy::ProxyState;
use crate::sandbox::{Sandbox, SandboxConfig, PRICE_ID};
use crate::server::{serve, App};

const DEMO_TENANT: &str = "3a1f3638-e6dc-d864-4aa7-df60cdbb1146";

/// One request of the walk-through and the status it should get.
struct Step {
    title: &'static str,
    method: http::Method,
    path: &'static str,
    body: Option<Body>,
    expected: StatusCode,
    proxy: DemoProxy,
    headers: &'static [(&'static str, &'static str)],
    /// A diagnosis the proxy makes in the background, waited for so that its line appears
    /// under this step.
    awaits: Option<Cause>,
}

/// The demo proxy that a step goes through. Each misconfigured proxy shows a diagnosis.
#[derive(Clone, Copy)]
enum DemoProxy {
    /// Configured correctly.
    Correct,
    /// Configured with a secret that does not belong to the key.
    WrongSecret,
    /// Configured with key and secret swapped.
    Swapped,
    /// Configured with a User-Agent that Rekaz's CDN blocks.
    PythonAgent,
}

/// A demo proxy serving in this process.
struct StartedProxy {
    address: SocketAddr,
    state: Arc<ProxyState>,
}

/// The demo's proxies.
struct DemoProxies {
    correct: StartedProxy,
    wrong_secret: StartedProxy,
    swapped: StartedProxy,
    python_agent: StartedProxy,
}

impl DemoProxies {
    fn get(&self, proxy: DemoProxy) -> &StartedProxy {
        match proxy {
            DemoProxy::Correct => &self.correct,
            DemoProxy::WrongSecret => &self.wrong_secret,
            DemoProxy::Swapped => &self.swapped,
            DemoProxy::PythonAgent => &self.python_agent,
        }
    }
}

/// A request body: JSON, or raw text that is deliberately not JSON.
enum Body {
    Json(Value),
    Raw(&'static str),
}

/// Runs the demo; exits 0 when every step got the expected status.
pub async fn demo() -> ExitCode {
    crate::logging::init(&LogSettings {
        format: LogFormat::Text,
        level: "info".to_owned(),
        repeat_window: DEFAULT_REPEAT_WINDOW,
    });
    match run_demo().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            println!("demo failed to start: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run_demo() -> Result<bool, Box<dyn std::error::Error>> {
    let key = format!(
        "rkz_demo_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let secret = uuid::Uuid::new_v4().simple().to_string();

    let (sandbox_url, _sandbox) = start_sandbox(&key, &secret).await?;
    let (correct, _correct) = start_proxy(&sandbox_url, &key, &secret, None).await?;
    let (wrong_secret, _wrong) = start_proxy(&sandbox_url, &key, "not-the-secret", None).await?;
    let (swapped, _swapped) = start_proxy(&sandbox_url, &secret, &key, None).await?;
    let python = Some("Python-urllib/3.12");
    let (python_agent, _python) = start_proxy(&sandbox_url, &key, &secret, python).await?;
    let proxies = DemoProxies {
        correct,
        wrong_secret,
        swapped,
        python_agent,
    };
    println!("sandbox (fake Rekaz) at {sandbox_url}");
    println!(
        "proxy at http://{}; misconfigured proxies: a wrong secret at http://{}, key and \
         secret swapped at http://{}, a Python User-Agent at http://{}",
        proxies.correct.address,
        proxies.wrong_secret.address,
        proxies.swapped.address,
        proxies.python_agent.address
    );
    println!("each failed call is followed by a rekaz_proxy::diagnosis line naming the cause\n");

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let mut context = DemoContext::default();
    let mut failures = 0;
    for step in steps() {
        let proxy = proxies.get(step.proxy);
        if !run_step(&client, proxy.address, &step, &mut context).await? {
            failures += 1;
        }
        if let Some(cause) = step.awaits {
            wait_for_diagnosis(&proxy.state, cause).await;
        }
    }

    if failures == 0 {
        println!("demo: every step answered as expected");
    } else {
        println!("demo: {failures} step(s) did not answer as expected");
    }
    Ok(failures == 0)
}

/// Ids learned along the way and substituted into later bodies.
#[derive(Default)]
struct DemoContext {
    branch_id: String,
    customer_id: String,
}

fn steps() -> Vec<Step> {
    use http::Method;
    let customer = json!({"name": "Abdulaziz", "mobileNumber": "0512345678", "customerType": 1});
    vec![
        step(
            "List branches",
            Method::GET,
            "/api/public/branches",
            None,
            StatusCode::OK,
        ),
        step(
            "Create a customer (quick start example 1)",
            Method::POST,
            "/api/app/customer",
            Some(Body::Json(customer.clone())),
            StatusCode::OK,
        ),
        step(
            "Create a subscription for it (quick start example 2)",
            Method::POST,
            "/api/app/subscription",
            Some(Body::Json(json!({}))),
            StatusCode::OK,
        ),
        Step {
            proxy: DemoProxy::WrongSecret,
            ..step(
                "Same call with a wrong secret",
                Method::GET,
                "/api/public/customers",
                None,
                StatusCode::UNAUTHORIZED,
            )
        },
        Step {
            proxy: DemoProxy::Swapped,
            awaits: Some(Cause::KeyAndSecretSwapped),
            ..step(
                "Same call with key and secret swapped (a probe finds out)",
                Method::GET,
                "/api/public/customers",
                None,
                StatusCode::UNAUTHORIZED,
            )
        },
        Step {
            proxy: DemoProxy::PythonAgent,
            ..step(
                "Same call with upstream.user_agent set to Python-urllib/3.12",
                Method::GET,
                "/api/public/customers",
                None,
                StatusCode::FORBIDDEN,
            )
        },
        Step {
            headers: &[("authorization", "Bearer token-the-client-should-not-send")],
            ..step(
                "A client that sends its own Authorization header (removed, reported once)",
                Method::GET,
                "/api/public/branches",
                None,
                StatusCode::OK,
            )
        },
        step(
            "A customer id that does not exist",
            Method::GET,
            "/api/public/customers/3fa85f64-5717-4562-b3fc-2c963f66afa6",
            None,
            StatusCode::NOT_FOUND,
        ),
        step(
            "Subscription with a bad date and price id",
            Method::POST,
            "/api/public/subscriptions",
            Some(Body::Json(json!({"customerId": "", "startAt":
            "next tuesday", "discount": 0, "items": [{"priceId": "BAD", "quantity": 1}]}))),
            StatusCode::BAD_REQUEST,
        ),
        step(
            "The same customer again",
            Method::POST,
            "/api/app/customer",
            Some(Body::Json(customer)),
            StatusCode::FORBIDDEN,
        ),
        step(
            "A body that is not JSON",
            Method::POST,
            "/api/app/customer",
            Some(Body::Raw("{\"name\": \"Abdulaziz\",")),
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
    ]
}

fn step(
    title: &'static str,
    method: http::Method,
    path: &'static str,
    body: Option<Body>,
    expected: StatusCode,
) -> Step {
    Step {
        title,
        method,
        path,
        body,
        expected,
        proxy: DemoProxy::Correct,
        headers: &[],
        awaits: None,
    }
}

/// Waits up to five seconds for `state` to count a diagnosis of `cause`.
async fn wait_for_diagnosis(state: &ProxyState, cause: Cause) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while state.diagnostics().count(cause) == 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn run_step(
    client: &reqwest::Client,
    base: SocketAddr,
    step: &Step,
    context: &mut DemoContext,
) -> Result<bool, reqwest::Error> {
    println!("--- {}", step.title);
    println!("==> {} {}", step.method, step.path);
    let mut request = client
        .request(step.method.clone(), format!("http://{base}{}", step.path))
        .header("accept", "application/json");
    for (name, value) in step.headers {
        println!("    {name}: {value}");
        request = request.header(*name, *value);
    }
    if let Some(body) = &step.body {
        let text = render_body(body, step.path, context);
        println!("    {text}");
        request = request
            .header("content-type", "application/json")
            .body(text);
    }

    let response = request.send().await?;
    let status = response.status();
    let text = response.text().await?;
    remember_ids(step.path, &text, context);

    let verdict = if status == step.expected {
        "as expected"
    } else {
        "UNEXPECTED"
    };
    println!("<== {status} ({verdict}, expected {})", step.expected);
    println!("    {}\n", shorten(&text));
    Ok(status == step.expected)
}

fn render_body(body: &Body, path: &str, context: &DemoContext) -> String {
    match body {
        Body::Raw(text) => (*text).to_owned(),
        Body::Json(_) if path == "/api/app/subscription" => json!({
            "customerId": context.customer_id,
            "startAt": "2026-12-05T09:00:00Z",
            "discount": 0,
            "branchId": context.branch_id,
            "items": [{"priceId": PRICE_ID, "quantity": 1}],
        })
        .to_string(),
        Body::Json(value) => value.to_string(),
    }
}

fn remember_ids(path: &str, text: &str, context: &mut DemoContext) {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return;
    };
    let id = |value: &Value| value.get("id").and_then(Value::as_str).map(str::to_owned);
    match path {
        "/api/public/branches" => {
            if let Some(branch) = value.as_array().and_then(|list| list.first()).and_then(id) {
                context.branch_id = branch;
            }
        }
        "/api/app/customer" => {
            if let Some(customer) = id(&value) {
                context.customer_id = customer;
            }
        }
        _ => {}
    }
}

fn shorten(text: &str) -> String {
    const MAX: usize = 300;
    if text.is_empty() {
        return "(empty body)".to_owned();
    }
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// Stops a background server when dropped.
struct Running(Option<oneshot::Sender<()>>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.0.take() {
            let _ = stop.send(());
        }
    }
}

async fn start_sandbox(key: &str, secret: &str) -> std::io::Result<(String, Running)> {
    let config = SandboxConfig::new(
        key.to_owned().into(),
        secret.to_owned().into(),
        DEMO_TENANT.to_owned(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = oneshot::channel();
    let shutdown = async move {
        let _ = stopped.await;
    };
    tokio::spawn(Sandbox::new(config).serve(listener, shutdown));
    Ok((url, Running(Some(stop))))
}

async fn start_proxy(
    upstream: &str,
    key: &str,
    secret: &str,
    user_agent: Option<&str>,
) -> Result<(StartedProxy, Running), Box<dyn std::error::Error>> {
    let env: EnvVars = [
        ("REKAZ_API_KEY", key),
        ("REKAZ_API_SECRET", secret),
        ("REKAZ_TENANT_ID", DEMO_TENANT),
    ]
    .into_iter()
    .collect();
    let mut overrides = vec![
        ("listen", "127.0.0.1:0".to_owned()),
        ("upstream.url", upstream.to_owned()),
    ];
    if let Some(user_agent) = user_agent {
        overrides.push(("upstream.user_agent", user_agent.to_owned()));
    }
    let settings = config::load(None, &env, &overrides)?;
    let app = App::build(settings, env).await?;
    let listener = app.bind().await?;
    let address = listener.local_addr()?;

    let (stop, stopped) = oneshot::channel();
    let shutdown = async move {
        let _ = stopped.await;
    };
    let limits = app.settings.limits.clone();
    tokio::spawn(serve(listener, app.router(), shutdown, limits));
    let state = Arc::clone(&app.state);
    Ok((StartedProxy { address, state }, Running(Some(stop))))
}
