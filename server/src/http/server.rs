//! Serving a router on a listener with warp: body limits, path normalisation, request ids,
//! request logs, metrics, CORS, panic containment and graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Buf, BytesMut};
use futures::{FutureExt, Stream, StreamExt};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use warp::Filter;

use super::cors;
use super::router::{Matched, Router};
use super::{Request, Response, render_error};
use crate::app::App;
use crate::error::{ApiError, Error};

/// Which API a listener serves; used for path normalisation and metric labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Public,
    Admin,
}

impl Api {
    pub fn as_str(self) -> &'static str {
        match self {
            Api::Public => "public",
            Api::Admin => "admin",
        }
    }

    /// Largest accepted request body. Admin batch imports carry up to thousands of identities.
    fn body_limit(self) -> usize {
        match self {
            Api::Public => 1 << 20,
            Api::Admin => 32 << 20,
        }
    }
}

struct Service {
    app: App,
    router: Router,
    api: Api,
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    app: App,
    router: Router,
    api: Api,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let service = Arc::new(Service { app, router, api });
    let raw_query = warp::query::raw().or(warp::any().map(String::new)).unify();
    let filter = warp::method()
        .and(warp::path::full())
        .and(raw_query)
        .and(warp::header::headers_cloned())
        .and(warp::addr::remote())
        .and(warp::body::stream())
        .then(
            move |method, path: warp::path::FullPath, query, headers, remote, body| {
                let service = service.clone();
                async move {
                    service
                        .handle(
                            method,
                            path.as_str().to_string(),
                            query,
                            headers,
                            remote,
                            body,
                        )
                        .await
                }
            },
        );
    warp::serve(filter)
        .incoming(listener)
        .graceful(shutdown)
        .run()
        .await;
}

impl Service {
    async fn handle<S, B>(
        &self,
        method: Method,
        raw_path: String,
        query: String,
        headers: HeaderMap,
        remote_addr: Option<SocketAddr>,
        body: S,
    ) -> Response
    where
        S: Stream<Item = Result<B, warp::Error>> + Send + Unpin,
        B: Buf,
    {
        let started = Instant::now();
        let path = self.normalise_path(&raw_path);
        let request_id = headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let config = self.app.config();
        let cors = (self.api == Api::Public && config.serve.public.cors.enabled)
            .then_some(&config.serve.public.cors);
        let origin = headers.get(header::ORIGIN).cloned();

        let (route_label, mut response) =
            match cors.and_then(|c| cors::preflight(c, &method, &headers)) {
                Some(preflight) => ("preflight".to_string(), preflight),
                None => {
                    self.dispatch(
                        method.clone(),
                        path,
                        query,
                        headers,
                        remote_addr,
                        body,
                        request_id.as_deref(),
                    )
                    .await
                }
            };

        if let (Some(cors), Some(origin)) = (cors, origin) {
            cors::decorate(cors, &origin, response.headers_mut());
        }
        if method == Method::HEAD {
            *response.body_mut() = bytes::Bytes::new().into();
        }
        if method == Method::GET && !response.headers().contains_key(header::CACHE_CONTROL) {
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-cache, no-store, must-revalidate"),
            );
        }
        let status = response.status().as_u16();
        let elapsed = started.elapsed();
        self.app.metrics.observe(
            self.api.as_str(),
            &route_label,
            method.as_str(),
            status,
            elapsed.as_secs_f64(),
        );
        let quiet_health = match self.api {
            Api::Public => config.serve.public.request_log.disable_for_health,
            Api::Admin => config.serve.admin.request_log.disable_for_health,
        };
        if !(quiet_health && route_label.contains("/health/")) {
            tracing::info!(
                api = self.api.as_str(),
                method = %method,
                path = %raw_path,
                route = %route_label,
                status,
                took_ms = elapsed.as_secs_f64() * 1000.0,
                request_id = request_id.as_deref(),
                "request"
            );
        }
        response
    }

    #[allow(clippy::too_many_arguments)]
    async fn dispatch<S, B>(
        &self,
        method: Method,
        path: String,
        query: String,
        headers: HeaderMap,
        remote_addr: Option<SocketAddr>,
        body: S,
        request_id: Option<&str>,
    ) -> (String, Response)
    where
        S: Stream<Item = Result<B, warp::Error>> + Send + Unpin,
        B: Buf,
    {
        let (route, handler, params) = match self.router.find(&method, &path) {
            Matched::Found(route, handler, params) => (route, handler, params),
            Matched::MethodNotAllowed(route) => {
                let mut res = render_error(
                    &ApiError::new(StatusCode::METHOD_NOT_ALLOWED).into(),
                    request_id,
                );
                if let Ok(allow) = HeaderValue::from_str(&route.allowed_methods()) {
                    res.headers_mut().insert(header::ALLOW, allow);
                }
                return (route.template.clone(), res);
            }
            Matched::NotFound => {
                return (
                    "not_found".to_string(),
                    render_error(&ApiError::not_found().into(), request_id),
                );
            }
        };
        let label = route.template.clone();
        let body = match read_body(body, self.api.body_limit()).await {
            Ok(body) => body,
            Err(err) => return (label, render_error(&err, request_id)),
        };
        let req = Request {
            method,
            path,
            query,
            headers,
            remote_addr,
            body,
            params,
            request_id: request_id.map(str::to_string),
        };
        // A panic is a bug, but it must cost one request a 500, not the connection or the process.
        let outcome = std::panic::AssertUnwindSafe(handler(self.app.clone(), req))
            .catch_unwind()
            .await;
        let response = match outcome {
            Ok(Ok(res)) => res,
            Ok(Err(err)) => render_error(&err, request_id),
            Err(_) => render_error(&Error::internal("handler panicked"), request_id),
        };
        (label, response)
    }

    /// Kratos trims trailing slashes, and the admin API answers with and without the `/admin` prefix.
    fn normalise_path(&self, path: &str) -> String {
        let trimmed = if path.len() > 1 {
            path.trim_end_matches('/')
        } else {
            path
        };
        let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
        match self.api {
            Api::Admin if trimmed != "/admin" && !trimmed.starts_with("/admin/") => {
                format!("/admin{trimmed}")
            }
            _ => trimmed.to_string(),
        }
    }
}

async fn read_body<S, B>(mut body: S, limit: usize) -> Result<bytes::Bytes, Error>
where
    S: Stream<Item = Result<B, warp::Error>> + Send + Unpin,
    B: Buf,
{
    let mut buf = BytesMut::new();
    while let Some(chunk) = body.next().await {
        let mut chunk = chunk.map_err(|e| {
            Error::from(
                ApiError::bad_request()
                    .with_reason(format!("Unable to read the request body: {e}")),
            )
        })?;
        if buf.len() + chunk.remaining() > limit {
            return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE)
                .with_reason(format!(
                    "The request body exceeds the limit of {limit} bytes."
                ))
                .into());
        }
        while chunk.has_remaining() {
            let bytes = chunk.chunk();
            buf.extend_from_slice(bytes);
            let n = bytes.len();
            chunk.advance(n);
        }
    }
    Ok(buf.freeze())
}
