//! The methods of the contract's `:action` paths. `.../processor/p1:start` and
//! `.../processor/p1` are one axum route (a path segment cannot be split at `:`), so axum alone
//! would allow on each what the other has, and list both in `Allow`. This middleware, layered
//! on such a route, answers a method the path does not have with 405 and that path's own
//! `Allow`; `rejection.rs` then turns it into Atlas's error body, after authentication.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, Response, StatusCode};
use axum::middleware::Next;

/// The methods of one route's paths: the plain one, and those ending in `:verb`.
pub struct ActionMethods {
    /// The methods of the path without a verb.
    pub plain: &'static [Method],
    /// The verbs the route serves, each with its methods.
    pub actions: &'static [(&'static str, &'static [Method])],
}

/// `.../streams/{tenantName}` and `...:downloadOperationalLogs`.
pub const WORKSPACE: ActionMethods = ActionMethods {
    plain: &[Method::GET, Method::PATCH, Method::DELETE],
    actions: &[("downloadOperationalLogs", &[Method::GET])],
};

/// `.../processor/{processorName}` and its actions (`:pause`, `:resume` and `:resetOffsets`
/// are Sluice's).
pub const PROCESSOR: ActionMethods = ActionMethods {
    plain: &[Method::GET, Method::PATCH, Method::DELETE],
    actions: &[
        ("start", &[Method::POST]),
        ("startWith", &[Method::POST]),
        ("stop", &[Method::POST]),
        ("pause", &[Method::POST]),
        ("resume", &[Method::POST]),
        ("resetOffsets", &[Method::POST]),
    ],
};

/// `.../connections/{connectionName}` and Sluice's `:check`.
pub const CONNECTION: ActionMethods =
    ActionMethods { plain: &[Method::GET, Method::PATCH, Method::DELETE], actions: &[("check", &[Method::POST])] };

/// `.../vpcPeeringConnections/{id}` and its `:accept` / `:reject`.
pub const VPC_PEERING: ActionMethods =
    ActionMethods { plain: &[Method::DELETE], actions: &[("accept", &[Method::POST]), ("reject", &[Method::POST])] };

impl ActionMethods {
    /// The methods of the path whose last segment is `last`, or None for an unknown verb
    /// (a path the contract does not have: the handlers answer 404).
    pub fn of(&self, last: &str) -> Option<&'static [Method]> {
        match last.rsplit_once(':') {
            None => Some(self.plain),
            Some((_, verb)) => self.actions.iter().find(|(v, _)| *v == verb).map(|(_, m)| *m),
        }
    }

    /// 405 with `Allow` when `method` is not one of the path's; HEAD goes with GET.
    pub fn refuse(&self, method: &Method, path: &str) -> Option<Response<Body>> {
        // The handlers read the segment decoded, so `%3A` is a `:` here too.
        let last = path.rsplit('/').next().unwrap_or("").replace("%3A", ":").replace("%3a", ":");
        let allowed = self.of(&last)?;
        let ok = allowed.contains(method) || (*method == Method::HEAD && allowed.contains(&Method::GET));
        if ok {
            return None;
        }
        let allow = allowed.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        // Method names are ASCII tokens, always a valid header value.
        if let Ok(v) = HeaderValue::from_str(&allow) {
            r.headers_mut().insert(header::ALLOW, v);
        }
        Some(r)
    }
}

/// Middleware for the workspace route.
pub async fn workspace(req: Request, next: Next) -> Response<Body> {
    check(&WORKSPACE, req, next).await
}

/// Middleware for the processor route.
pub async fn processor(req: Request, next: Next) -> Response<Body> {
    check(&PROCESSOR, req, next).await
}

/// Middleware for the connection route.
pub async fn connection(req: Request, next: Next) -> Response<Body> {
    check(&CONNECTION, req, next).await
}

/// Middleware for the VPC peering route.
pub async fn vpc_peering(req: Request, next: Next) -> Response<Body> {
    check(&VPC_PEERING, req, next).await
}

async fn check(methods: &ActionMethods, req: Request, next: Next) -> Response<Body> {
    match methods.refuse(req.method(), req.uri().path()) {
        Some(r) => r,
        None => next.run(req).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow(m: &ActionMethods, method: Method, path: &str) -> Option<String> {
        m.refuse(&method, path).map(|r| {
            assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
            r.headers()[header::ALLOW].to_str().unwrap().to_string()
        })
    }

    #[test]
    fn each_path_allows_its_own_methods() {
        let p = "/api/atlas/v2/groups/g/streams/ws/processor/p1";
        assert_eq!(allow(&PROCESSOR, Method::GET, &format!("{}:start", p)), Some("POST".into()));
        assert_eq!(allow(&PROCESSOR, Method::DELETE, &format!("{}:startWith", p)), Some("POST".into()));
        assert_eq!(allow(&PROCESSOR, Method::POST, &format!("{}:stop", p)), None);
        assert_eq!(allow(&PROCESSOR, Method::POST, &format!("{}%3Astop", p)), None);
        assert_eq!(allow(&PROCESSOR, Method::POST, p), Some("GET, PATCH, DELETE".into()));
        assert_eq!(allow(&PROCESSOR, Method::PUT, p), Some("GET, PATCH, DELETE".into()));
        assert_eq!(allow(&PROCESSOR, Method::HEAD, p), None);
        assert_eq!(allow(&PROCESSOR, Method::PATCH, p), None);
        // An unknown verb is no path of the contract: the handler's 404.
        assert_eq!(allow(&PROCESSOR, Method::GET, &format!("{}:fly", p)), None);
        assert_eq!(allow(&WORKSPACE, Method::POST, "/g/streams/ws:downloadOperationalLogs"), Some("GET".into()));
        assert_eq!(allow(&CONNECTION, Method::GET, "/g/streams/ws/connections/k:check"), Some("POST".into()));
        assert_eq!(allow(&CONNECTION, Method::POST, "/g/streams/ws/connections/k"), Some("GET, PATCH, DELETE".into()));
        assert_eq!(allow(&WORKSPACE, Method::GET, "/g/streams/ws:downloadOperationalLogs"), None);
        assert_eq!(
            allow(&VPC_PEERING, Method::DELETE, "/g/streams/vpcPeeringConnections/x:accept"),
            Some("POST".into())
        );
        assert_eq!(allow(&VPC_PEERING, Method::POST, "/g/streams/vpcPeeringConnections/x"), Some("DELETE".into()));
        assert_eq!(allow(&VPC_PEERING, Method::POST, "/g/streams/vpcPeeringConnections/x:reject"), None);
    }
}
