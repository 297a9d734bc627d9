//! The HTTP series: one counter per method, route template and status, one
//! latency histogram per method and route template.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use axum::http::Method;

use super::{Metrics, RequestLabels, RouteLabels};

/// Route templates as `&'static str` labels, so a request's labels are built
/// without allocating. Templates come from the route table and the MCP router
/// (a finite set fixed at start), never from a request's path, so the set is
/// bounded and leaking each label once is bounded too. Parameters are written
/// `:name` (`/v1/platforms/:pid`): braces inside label values trip common
/// exposition parsers.
#[derive(Default)]
pub struct RouteNames {
    known: RwLock<HashMap<Box<str>, &'static str>>,
}

impl RouteNames {
    fn intern(&self, template: &str) -> &'static str {
        if let Ok(known) = self.known.read()
            && let Some(label) = known.get(template)
        {
            return label;
        }
        let Ok(mut known) = self.known.write() else {
            return "unknown";
        };
        if let Some(label) = known.get(template) {
            return label;
        }
        let label: &'static str = Box::leak(colon_params(template).into_boxed_str());
        known.insert(template.into(), label);
        label
    }
}

/// `/a/{id}/{*rest}` as `/a/:id/*rest`.
fn colon_params(template: &str) -> String {
    let mut label = String::with_capacity(template.len());
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'*') => {}
            '{' => label.push(':'),
            '}' => {}
            other => label.push(other),
        }
    }
    label
}

/// Unmatched requests (404s of the fallback) share one label: their paths are
/// the client's text.
const UNMATCHED: &str = "unmatched";

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

impl Metrics {
    /// Counts one answered request. `template` is the matched route
    /// (`axum::extract::MatchedPath`), `None` for the fallback.
    pub fn request(&self, method: &Method, template: Option<&str>, status: u16, took: Duration) {
        let inner = &self.inner;
        let route = template.map_or(UNMATCHED, |t| inner.routes.intern(t));
        let method = method_label(method);
        inner
            .requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status,
            })
            .inc();
        inner
            .request_seconds
            .get_or_create(&RouteLabels { method, route })
            .observe(took.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_template_is_interned_once() {
        let names = RouteNames::default();
        let first = names.intern("/v1/platforms/{pid}");
        let again = names.intern(&String::from("/v1/platforms/{pid}"));
        assert!(std::ptr::eq(first, again));
        assert_eq!(first, "/v1/platforms/:pid");
        assert_eq!(names.intern("/v1/models/{*model}"), "/v1/models/*model");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }
}
