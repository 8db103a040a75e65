//! Content negotiation exactly as Kratos does it (gddo's `NegotiateContentType`), because whether a
//! flow answers with JSON or a redirect depends on it and UIs rely on the precise outcome.

use http::HeaderMap;

struct Spec<'a> {
    value: &'a str,
    q: f64,
}

fn parse_accept(headers: &HeaderMap) -> Vec<Spec<'_>> {
    let mut specs = Vec::new();
    for header in headers.get_all(http::header::ACCEPT) {
        let Ok(header) = header.to_str() else {
            continue;
        };
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let value = pieces.next().unwrap_or("").trim();
            if value.is_empty() {
                continue;
            }
            let mut q = 1.0;
            for param in pieces {
                if let Some((k, v)) = param.split_once('=')
                    && k.trim().eq_ignore_ascii_case("q")
                {
                    q = v.trim().parse().unwrap_or(0.0);
                }
            }
            specs.push(Spec { value, q });
        }
    }
    specs
}

/// Picks the best of `offers` for the request's `Accept` header, or `default` if none matches.
pub fn negotiate<'o>(headers: &HeaderMap, offers: &[&'o str], default: &'o str) -> &'o str {
    let specs = parse_accept(headers);
    let mut best = default;
    let mut best_q = -1.0;
    let mut best_wild = 3;
    for offer in offers {
        for spec in &specs {
            if spec.q == 0.0 || spec.q < best_q {
                continue;
            }
            if spec.value == "*/*" {
                if spec.q > best_q || best_wild > 2 {
                    (best_q, best_wild, best) = (spec.q, 2, offer);
                }
            } else if let Some(prefix) = spec.value.strip_suffix('*') {
                if offer.starts_with(prefix) && (spec.q > best_q || best_wild > 1) {
                    (best_q, best_wild, best) = (spec.q, 1, offer);
                }
            } else if spec.value == *offer && (spec.q > best_q || best_wild > 0) {
                (best_q, best_wild, best) = (spec.q, 0, offer);
            }
        }
    }
    best
}

/// Kratos's `AcceptsJSON`: the client prefers JSON over HTML.
pub fn accepts_json(headers: &HeaderMap) -> bool {
    negotiate(headers, &["text/html", "application/json"], "text/html") == "application/json"
}

/// Kratos's `IsJSONRequest`: JSON is negotiated, or the body is sent as exactly `application/json`.
pub fn is_json_request(headers: &HeaderMap) -> bool {
    negotiate(
        headers,
        &["text/html", "text/*", "*/*", "application/json"],
        "text/html",
    ) == "application/json"
        || headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            == Some("application/json")
}

/// Kratos's `IsBrowserRequest`.
pub fn is_browser_request(headers: &HeaderMap) -> bool {
    negotiate(
        headers,
        &["text/html", "text/*", "*/*", "application/json"],
        "text/html",
    ) == "text/html"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::ACCEPT, v.parse().unwrap());
        h
    }

    #[test]
    fn negotiation_matches_kratos() {
        assert!(accepts_json(&accept("application/json")));
        assert!(!accepts_json(&accept(
            "text/html,application/xhtml+xml,*/*;q=0.8"
        )));
        // `*/*` picks the first offer, HTML, exactly as Kratos does.
        assert!(!accepts_json(&accept("*/*")));
        assert!(!accepts_json(&HeaderMap::new()));
        assert!(accepts_json(&accept("text/html;q=0.5, application/json")));
        assert!(accepts_json(&accept("application/*")));
        assert!(is_browser_request(&accept("text/html")));
        assert!(!is_browser_request(&accept("application/json")));
        let mut h = HeaderMap::new();
        h.insert(
            http::header::CONTENT_TYPE,
            "application/json".parse().unwrap(),
        );
        assert!(is_json_request(&h));
    }
}
