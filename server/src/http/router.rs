//! A small router: path templates (`/admin/identities/{id}`) to per-method handlers. Matching is
//! done with `matchit`; a path that matches with the wrong method is a 405, an unknown path a 404,
//! both in Kratos's error shape.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use http::Method;

use super::{Request, Response};
use crate::app::App;
use crate::error::Result;

pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<Response>> + Send>>;
pub type Handler = Arc<dyn Fn(App, Request) -> HandlerFuture + Send + Sync>;

pub struct Route {
    /// The template, used as the metrics label so that ids do not explode cardinality.
    pub template: String,
    handlers: Vec<(Method, Handler)>,
}

impl Route {
    pub fn handler(&self, method: &Method) -> Option<&Handler> {
        let found = self
            .handlers
            .iter()
            .find(|(m, _)| m == method)
            .map(|(_, h)| h);
        // HEAD is answered by GET handlers (the server drops the body), as Go's mux does.
        found.or_else(|| {
            (method == Method::HEAD)
                .then(|| {
                    self.handlers
                        .iter()
                        .find(|(m, _)| m == Method::GET)
                        .map(|(_, h)| h)
                })
                .flatten()
        })
    }

    pub fn allowed_methods(&self) -> String {
        self.handlers
            .iter()
            .map(|(m, _)| m.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[derive(Default)]
pub struct RouterBuilder {
    routes: BTreeMap<String, Vec<(Method, Handler)>>,
}

macro_rules! method_fn {
    ($name:ident, $method:expr) => {
        pub fn $name<F, Fut>(&mut self, path: &str, handler: F) -> &mut Self
        where
            F: Fn(App, Request) -> Fut + Send + Sync + 'static,
            Fut: Future<Output = Result<Response>> + Send + 'static,
        {
            self.route($method, path, handler)
        }
    };
}

impl RouterBuilder {
    method_fn!(get, Method::GET);
    method_fn!(post, Method::POST);
    method_fn!(put, Method::PUT);
    method_fn!(patch, Method::PATCH);
    method_fn!(delete, Method::DELETE);

    pub fn route<F, Fut>(&mut self, method: Method, path: &str, handler: F) -> &mut Self
    where
        F: Fn(App, Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Response>> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |app, req| Box::pin(handler(app, req)));
        self.routes
            .entry(path.to_string())
            .or_default()
            .push((method, handler));
        self
    }

    /// Registers the same handler for several methods (e.g. whoami answers any method).
    pub fn any<F, Fut>(&mut self, methods: &[Method], path: &str, handler: F) -> &mut Self
    where
        F: Fn(App, Request) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<Response>> + Send + 'static,
    {
        for method in methods {
            self.route(method.clone(), path, handler.clone());
        }
        self
    }

    /// Builds the router. Conflicting templates are programming errors, reported at start-up.
    pub fn build(self) -> std::result::Result<Router, String> {
        let mut inner = matchit::Router::new();
        for (template, handlers) in self.routes {
            inner
                .insert(
                    template.clone(),
                    Route {
                        template: template.clone(),
                        handlers,
                    },
                )
                .map_err(|e| format!("route {template}: {e}"))?;
        }
        Ok(Router { inner })
    }
}

pub struct Router {
    inner: matchit::Router<Route>,
}

pub enum Matched<'r> {
    Found(&'r Route, &'r Handler, Vec<(String, String)>),
    MethodNotAllowed(&'r Route),
    NotFound,
}

impl Router {
    pub fn builder() -> RouterBuilder {
        RouterBuilder::default()
    }

    pub fn find(&self, method: &Method, path: &str) -> Matched<'_> {
        match self.inner.at(path) {
            Ok(m) => {
                let params = m
                    .params
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                match m.value.handler(method) {
                    Some(h) => Matched::Found(m.value, h, params),
                    None => Matched::MethodNotAllowed(m.value),
                }
            }
            Err(_) => Matched::NotFound,
        }
    }
}
