//! The HTTP API of the Edgewood service, as plain target-independent Rust.
//!
//! [`handle`] takes a method, a path, headers and the body bytes with a [`Config`], and
//! returns a status, headers and body. The Spin component is a thin adapter around it,
//! and `cargo test -p edgewood-spin` tests it natively. Routing, authentication, CORS,
//! JSON parsing and validation, the answers, the OpenAPI document and the /docs page
//! all live here, so every deployment (Spin, SpinKube, `edgewood serve`) behaves the same.
//!
//! Status codes: 422 in FastAPI's `{"detail": [{"loc", "msg", "type"}]}` shape for a
//! body that does not match the model's schema; 400/401/404/405/413/415 with
//! `{"detail": "…"}` for other client mistakes; 501 for `/v1/explain` when the model
//! records no cover (nothing a request can change); a 500 only when the embedded model
//! itself is broken, never for anything a client sends.

pub mod auth;
mod explain;
pub mod json;
mod jwt;
mod openapi;
mod predict;
mod v2;

pub use auth::constant_time_eq;
use edgewood_core::Model;
use json::{obj, s, Json};
pub use jwt::JwtConfig;

/// The service's settings (configuration variables in the component: `wasi:config`).
#[derive(Clone, Debug)]
pub struct Config {
    /// When set and not empty, every endpoint but the health checks needs this key in
    /// `X-API-Key` or `Authorization: Bearer` (or a valid JWT, when [`Config::jwt`] is on).
    pub api_key: Option<String>,
    /// JWT bearer verification; when enabled, every endpoint but the health checks
    /// needs a valid token (or the API key, when one is set).
    pub jwt: JwtConfig,
    /// Origins allowed to call from a browser (`*` for any); empty means no CORS headers.
    pub allowed_origins: Vec<String>,
    /// Largest request body accepted, in bytes (413 beyond).
    pub max_body_bytes: usize,
    /// Most rows accepted in one batch or V2 request (413 beyond).
    pub max_batch_rows: usize,
    /// The model's name in the V2 protocol (`/v2/models/{name}`).
    pub model_name: String,
}

/// Default body limit: 1 MiB, about 10,000 Iris rows.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;
/// Default row limit of a batch.
pub const DEFAULT_MAX_BATCH_ROWS: usize = 1000;

impl Config {
    /// The defaults: no key, no CORS, 1 MiB bodies, 1000-row batches.
    pub fn new(model_name: impl Into<String>) -> Self {
        Config {
            api_key: None,
            jwt: JwtConfig {
                leeway_seconds: jwt::DEFAULT_LEEWAY_SECONDS,
                ..JwtConfig::default()
            },
            allowed_origins: Vec::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_batch_rows: DEFAULT_MAX_BATCH_ROWS,
            model_name: model_name.into(),
        }
    }

    /// The settings from configuration variables (`wasi:config/store` in the component,
    /// `--var` in `edgewood serve`): `get(name)` is a variable's value, `None` when it
    /// is unset or empty. Unparsable numbers keep their defaults.
    pub fn from_variables(
        model_name: impl Into<String>,
        get: impl Fn(&str) -> Option<String>,
    ) -> Self {
        let mut config = Config::new(model_name);
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        config.api_key = get("api_key");
        if let Some(origins) = get("allowed_origins") {
            config.allowed_origins = Config::parse_origins(&origins);
        }
        if let Some(n) = get("max_body_bytes").and_then(|v| v.trim().parse().ok()) {
            config.max_body_bytes = n;
        }
        if let Some(n) = get("max_batch_rows").and_then(|v| v.trim().parse().ok()) {
            config.max_batch_rows = n;
        }
        config.jwt.hs256_secret = get("jwt_hs256_secret");
        config.jwt.public_key_pem = get("jwt_public_key");
        config.jwt.jwks = get("jwt_jwks");
        config.jwt.issuer = get("jwt_issuer");
        config.jwt.audience = get("jwt_audience");
        if let Some(n) = get("jwt_leeway_seconds").and_then(|v| v.trim().parse().ok()) {
            config.jwt.leeway_seconds = n;
        }
        config
    }

    /// Parses a comma-separated origin list (`"*"`, `"https://a.example, https://b.example"`).
    pub fn parse_origins(list: &str) -> Vec<String> {
        list.split(',')
            .map(|o| o.trim().trim_end_matches('/').to_string())
            .filter(|o| !o.is_empty())
            .collect()
    }
}

/// The request body as the adapter received it.
#[derive(Clone, Copy, Debug)]
pub enum Body<'a> {
    /// The whole body.
    Bytes(&'a [u8]),
    /// The body was longer than [`Config::max_body_bytes`] and was not read.
    TooLarge,
}

/// An HTTP request, reduced to what the API looks at.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// `GET`, `POST`, … (upper case).
    pub method: &'a str,
    /// The path, with or without a `?query` (the query is ignored).
    pub path: &'a str,
    /// Header names (any case) and values.
    pub headers: &'a [(String, String)],
    /// The body.
    pub body: Body<'a>,
}

impl Request<'_> {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The answer to a request.
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// Rows predicted (for the log line).
    pub rows: usize,
}

impl Response {
    fn json(status: u16, body: &Json) -> Response {
        Response {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_json().into_bytes(),
            rows: 0,
        }
    }

    fn detail(status: u16, message: impl Into<String>) -> Response {
        Response::json(status, &obj([("detail", s(message))]))
    }

    fn header(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The value of header `name`, if set.
    pub fn get_header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One FastAPI-style validation error: where, what, and a machine-readable type.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// Path to the offending value, starting with `"body"`.
    pub loc: Vec<Json>,
    /// What is wrong, for people.
    pub msg: String,
    /// What is wrong, for programs (pydantic's error types where one fits).
    pub kind: &'static str,
    /// The offending input, when there is one.
    pub input: Option<Json>,
}

impl Problem {
    fn new(loc: Vec<Json>, kind: &'static str, msg: impl Into<String>) -> Problem {
        Problem {
            loc,
            msg: msg.into(),
            kind,
            input: None,
        }
    }
}

/// A 422 answer listing every problem found.
fn unprocessable(problems: Vec<Problem>) -> Response {
    let detail = problems
        .into_iter()
        .map(|p| {
            let mut fields = vec![
                ("loc".to_string(), Json::Arr(p.loc)),
                ("msg".to_string(), s(p.msg)),
                ("type".to_string(), s(p.kind)),
            ];
            if let Some(input) = p.input {
                fields.push(("input".to_string(), input));
            }
            Json::Obj(fields)
        })
        .collect();
    Response::json(422, &obj([("detail", Json::Arr(detail))]))
}

/// The routes: (path pattern, allowed methods, needs the API key).
/// `{name}` matches one path segment.
const ROUTES: &[(&str, &str, bool)] = &[
    ("/", "GET", true),
    ("/health", "GET", false),
    ("/v1/model", "GET", true),
    ("/openapi.json", "GET", true),
    ("/docs", "GET", true),
    ("/predict", "POST", true),
    ("/v1/predict", "POST", true),
    ("/predict/batch", "POST", true),
    ("/v1/predict/batch", "POST", true),
    ("/v1/explain", "POST", true),
    ("/v1/explain/batch", "POST", true),
    ("/v2", "GET", true),
    ("/v2/health/live", "GET", false),
    ("/v2/health/ready", "GET", false),
    ("/v2/models/{name}", "GET", true),
    ("/v2/models/{name}/ready", "GET", true),
    ("/v2/models/{name}/infer", "POST", true),
];

fn matches(pattern: &str, path: &str) -> bool {
    let (mut p, mut q) = (pattern.split('/'), path.split('/'));
    loop {
        match (p.next(), q.next()) {
            (None, None) => return true,
            (Some("{name}"), Some(seg)) if !seg.is_empty() => {}
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

/// The route pattern a path falls under (`/v2/models/{name}/infer`), for metrics labels
/// that cannot grow with what clients send; `None` for a path no endpoint serves.
pub fn route_of(path: &str) -> Option<&'static str> {
    let path = normalise(path);
    ROUTES
        .iter()
        .find(|(p, _, _)| matches(p, path))
        .map(|(p, _, _)| *p)
}

/// The path without its query and trailing slash: `/predict/?x` → `/predict`.
fn normalise(path: &str) -> &str {
    let path = path.split('?').next().unwrap_or("");
    // A trailing slash names the same resource (`/predict/` = `/predict`).
    let path = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    if path.is_empty() {
        "/"
    } else {
        path
    }
}

/// Answers one request. `model` is the embedded model, opened for this request.
pub fn handle(
    config: &Config,
    model: Result<Model<'_>, edgewood_core::FormatError>,
    req: &Request<'_>,
) -> Response {
    let mut resp = route(config, model, req);
    cors(config, req, &mut resp);
    resp
}

fn route(
    config: &Config,
    model: Result<Model<'_>, edgewood_core::FormatError>,
    req: &Request<'_>,
) -> Response {
    let path = normalise(req.path);
    let Some(&(pattern, method, needs_key)) = ROUTES.iter().find(|(p, _, _)| matches(p, path))
    else {
        return Response::detail(
            404,
            format!("Not Found: no endpoint at {path}; GET / lists the endpoints"),
        );
    };
    if req.method == "OPTIONS" {
        // A CORS preflight: never authenticated (browsers send no credentials with it).
        return Response {
            status: 204,
            headers: vec![("allow".into(), format!("{method}, OPTIONS"))],
            body: Vec::new(),
            rows: 0,
        };
    }
    if req.method != method {
        return Response::detail(405, format!("Method Not Allowed: {path} accepts {method}"))
            .header("allow", format!("{method}, OPTIONS"));
    }
    if needs_key {
        if let Err(refusal) =
            auth::authorize(config.api_key.as_deref(), &config.jwt, |n| req.header(n))
        {
            return Response::detail(401, refusal.message)
                .header("www-authenticate", refusal.challenge);
        }
    }
    let model = match model {
        Ok(m) => m,
        // The embedded model is part of the build, not of the request: a server fault.
        Err(e) => {
            return Response::detail(500, format!("the embedded model cannot be opened: {e}"))
        }
    };
    if method == "POST" {
        if let Some(resp) = check_post(config, req) {
            return resp;
        }
    }
    let body = match req.body {
        Body::Bytes(b) => b,
        Body::TooLarge => &[],
    };
    let name = path.split('/').nth(3).unwrap_or("");
    match pattern {
        "/" => Response::json(200, &openapi::info(config, &model)),
        "/health" => Response::json(
            200,
            &obj([
                ("status", s("ok")),
                ("model", s(config.model_name.as_str())),
            ]),
        ),
        "/v1/model" => Response::json(200, &openapi::schema(config, &model)),
        "/openapi.json" => Response::json(200, &openapi::openapi(config, &model)),
        "/docs" => Response {
            status: 200,
            headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
            body: openapi::docs(config, &model).into_bytes(),
            rows: 0,
        },
        "/predict" | "/v1/predict" => predict::one(&model, body),
        "/predict/batch" | "/v1/predict/batch" => predict::batch(config, &model, body),
        "/v1/explain" => explain::one(&model, body),
        "/v1/explain/batch" => explain::batch(config, &model, body),
        "/v2" => Response::json(200, &v2::server_metadata()),
        "/v2/health/live" => Response::json(200, &obj([("live", Json::Bool(true))])),
        "/v2/health/ready" => Response::json(200, &obj([("ready", Json::Bool(true))])),
        "/v2/models/{name}" => v2::model_metadata(config, &model, name),
        "/v2/models/{name}/ready" => v2::model_ready(config, name),
        "/v2/models/{name}/infer" => v2::infer(
            config,
            &model,
            name,
            body,
            req.header("inference-header-content-length"),
        ),
        _ => Response::detail(404, "Not Found"),
    }
}

/// Content type and size checks shared by every POST endpoint.
fn check_post(config: &Config, req: &Request<'_>) -> Option<Response> {
    if let Some(ct) = req.header("content-type") {
        let mime = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        // No Content-Type at all is read as JSON, as FastAPI does. A V2 request with
        // binary tensors is JSON followed by bytes; Triton's clients send it untyped or
        // as application/octet-stream.
        let binary_v2 = req.header("inference-header-content-length").is_some()
            && mime == "application/octet-stream";
        if mime != "application/json" && !mime.ends_with("+json") && !binary_v2 {
            return Some(Response::detail(
                415,
                format!("Unsupported Media Type: send the body as JSON with Content-Type: application/json (got '{ct}')"),
            ));
        }
    }
    if let Body::TooLarge = req.body {
        return Some(Response::detail(
            413,
            format!(
                "Payload Too Large: the body exceeds {} bytes",
                config.max_body_bytes
            ),
        ));
    }
    None
}

/// Adds CORS headers when the request's Origin is allowed.
fn cors(config: &Config, req: &Request<'_>, resp: &mut Response) {
    let Some(origin) = req.header("origin") else {
        return;
    };
    let any = config.allowed_origins.iter().any(|o| o == "*");
    let listed = config
        .allowed_origins
        .iter()
        .any(|o| o.eq_ignore_ascii_case(origin.trim_end_matches('/')));
    if !(any || listed) {
        return;
    }
    let allow = if any {
        "*".to_string()
    } else {
        origin.to_string()
    };
    resp.headers
        .push(("access-control-allow-origin".into(), allow));
    if !any {
        resp.headers.push(("vary".into(), "Origin".into()));
    }
    resp.headers.push((
        "access-control-expose-headers".into(),
        "x-request-id".into(),
    ));
    if req.method == "OPTIONS" {
        resp.headers.push((
            "access-control-allow-methods".into(),
            "GET, POST, OPTIONS".into(),
        ));
        resp.headers.push((
            "access-control-allow-headers".into(),
            "content-type, authorization, x-api-key, x-request-id".into(),
        ));
        resp.headers
            .push(("access-control-max-age".into(), "600".into()));
    }
}

/// The request id: the client's `X-Request-Id` when it is short and printable,
/// otherwise `fallback`.
pub fn request_id(req: &Request<'_>, fallback: impl FnOnce() -> String) -> String {
    match req.header("x-request-id") {
        Some(id)
            if !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            id.to_string()
        }
        _ => fallback(),
    }
}

/// The one JSON log line written per request. The API key is never part of it.
pub fn log_line(req: &Request<'_>, resp: &Response, latency_ms: f64, request_id: &str) -> String {
    let path = req.path.split('?').next().unwrap_or("");
    let path: String = path.chars().take(200).collect();
    obj([
        ("method", s(req.method)),
        ("path", s(path)),
        ("status", Json::Int(resp.status as i64)),
        (
            "latency_ms",
            Json::Num((latency_ms * 1000.0).round() / 1000.0),
        ),
        ("rows", Json::Int(resp.rows as i64)),
        ("request_id", s(request_id)),
    ])
    .to_json()
}

#[cfg(test)]
mod tests;
