//! What both doors do with a request once its head is read: allow list, rate limit, route,
//! auth, body limit, then the [`Service`]. Each door only adapts its own I/O to this.

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::request::Parts;
use http::{HeaderValue, Method, Response, StatusCode};

use super::auth::{Credentials, AUTH_FAIL_DELAY, CHALLENGE};
use super::limits::{declared_too_large, BodyError, ConnSlots, Limits, RateLimiter};
use crate::config::rpc::AllowIp;
use crate::rpc::{HttpReply, Service};

/// State shared by every connection of both doors.
pub(crate) struct Shared {
    pub(crate) service: Arc<dyn Service>,
    pub(crate) creds: Credentials,
    pub(crate) allow: Vec<AllowIp>,
    pub(crate) rest: bool,
    pub(crate) limits: Limits,
    pub(crate) slots: ConnSlots,
}

impl Shared {
    /// Whether a client at `ip` may talk to us at all.
    pub(crate) fn allowed(&self, ip: IpAddr) -> bool {
        is_allowed(&self.allow, ip)
    }
}

/// Whether `ip` is in one of the `-rpcallowip` subnets; loopback is in the list already.
pub(crate) fn is_allowed(allow: &[AllowIp], ip: IpAddr) -> bool {
    allow.iter().any(|a| a.contains(ip))
}

/// Per-connection state.
pub(crate) struct ConnCtx {
    pub(crate) allowed: bool,
    pub(crate) rate: RateLimiter,
}

impl ConnCtx {
    pub(crate) fn new(shared: &Shared, peer: IpAddr) -> Self {
        ConnCtx {
            allowed: shared.allowed(peer),
            rate: RateLimiter::new(&shared.limits),
        }
    }
}

/// A reply plus what the door must add around it.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) reply: HttpReply,
    /// Send `WWW-Authenticate` (a 401).
    pub(crate) challenge: bool,
    /// Stop reading from the client after this reply (unread body, refused peer).
    pub(crate) close: bool,
}

impl Answer {
    fn plain(reply: HttpReply) -> Self {
        Answer {
            reply,
            challenge: false,
            close: false,
        }
    }

    fn closing(reply: HttpReply) -> Self {
        Answer {
            reply,
            challenge: false,
            close: true,
        }
    }
}

/// Where a request goes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Route {
    JsonRpc,
    Rest,
    /// Answered without auth: unknown path or wrong method.
    Status(u16),
}

/// Core's table: `/` and `/wallet/...` take POST (else 405); `/rest/...` takes GET when
/// REST is on (else 404); everything else is 404.
pub(crate) fn route(method: &Method, path: &str, rest: bool) -> Route {
    if path == "/" || path.starts_with("/wallet/") {
        if method == Method::POST {
            Route::JsonRpc
        } else {
            Route::Status(405)
        }
    } else if rest && path.starts_with("/rest/") {
        if method == Method::GET {
            Route::Rest
        } else {
            Route::Status(405)
        }
    } else {
        Route::Status(404)
    }
}

/// Answers one request. `read_body` is called at most once, with the byte limit, and only
/// after auth passed, so an unauthenticated client never makes us buffer anything.
pub(crate) async fn answer<F, Fut>(shared: &Shared, conn: &ConnCtx, head: &Parts, read_body: F) -> Answer
where
    F: FnOnce(usize) -> Fut,
    Fut: Future<Output = Result<Bytes, BodyError>>,
{
    if !conn.allowed {
        return Answer::closing(HttpReply::text(403, ""));
    }
    if !conn.rate.allow() {
        return Answer::plain(HttpReply::text(429, "Too many requests\n"));
    }
    match route(&head.method, head.uri.path(), shared.rest) {
        Route::Status(code) => Answer::plain(HttpReply::text(code, "")),
        Route::Rest => {
            let pq = head
                .uri
                .path_and_query()
                .map_or_else(|| head.uri.path().to_string(), |pq| pq.as_str().to_string());
            Answer::plain(shared.service.rest(pq).await)
        }
        Route::JsonRpc => {
            if !shared.creds.check_header(head.headers.get(AUTHORIZATION)) {
                // Sleeps only this request's task; other connections go on.
                tokio::time::sleep(AUTH_FAIL_DELAY).await;
                return Answer {
                    reply: HttpReply::text(401, ""),
                    challenge: true,
                    close: false,
                };
            }
            if declared_too_large(&head.headers, shared.limits.max_body) {
                return Answer::closing(too_large());
            }
            match read_body(shared.limits.max_body).await {
                Ok(body) => Answer::plain(shared.service.json_rpc(body).await),
                Err(BodyError::TooLarge) => Answer::closing(too_large()),
                Err(BodyError::Timeout) => Answer::closing(HttpReply::text(408, "Request timeout\n")),
                Err(e @ BodyError::Read(_)) => {
                    tracing::debug!("RPC: {e}");
                    Answer::closing(HttpReply::text(400, ""))
                }
            }
        }
    }
}

/// Status and headers of an answer, the same for both doors.
pub(crate) fn response_head(ans: &Answer) -> Response<()> {
    let mut resp = Response::new(());
    *resp.status_mut() = StatusCode::from_u16(ans.reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = resp.headers_mut();
    let content_type = HeaderValue::from_str(ans.reply.content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    headers.insert(CONTENT_TYPE, content_type);
    headers.insert(CONTENT_LENGTH, HeaderValue::from(ans.reply.body.len()));
    if ans.challenge {
        headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static(CHALLENGE));
    }
    resp
}

fn too_large() -> HttpReply {
    HttpReply::text(413, "Request body too large\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::BoxFuture;

    struct Echo;

    impl Service for Echo {
        fn json_rpc(&self, body: Bytes) -> BoxFuture<HttpReply> {
            Box::pin(async move { HttpReply::json(200, body) })
        }

        fn rest(&self, path_and_query: String) -> BoxFuture<HttpReply> {
            Box::pin(async move { HttpReply::text(200, path_and_query) })
        }
    }

    fn shared(allow: Vec<AllowIp>) -> Shared {
        let mut config = crate::config::RpcConfig::resolve(
            &crate::config::file::FileSettings::default(),
            18443,
            std::path::Path::new("/nonexistent"),
        )
        .unwrap();
        config.user = Some(("u".into(), "p".into()));
        let limits = Limits::default();
        Shared {
            service: Arc::new(Echo),
            creds: Credentials::new(&config, None),
            allow,
            rest: true,
            limits,
            slots: ConnSlots::new(limits.max_connections),
        }
    }

    /// What the doors do for a peer outside `-rpcallowip`: 403 and close, before auth,
    /// routing or reading anything (loopback sockets cannot show this end to end).
    #[tokio::test]
    async fn refused_peer_gets_403_and_close() {
        let sh = shared(AllowIp::loopback().to_vec());
        let outsider = ConnCtx::new(&sh, "10.0.0.7".parse().unwrap());
        let local = ConnCtx::new(&sh, "127.0.0.1".parse().unwrap());
        let (head, ()) = http::Request::get("/rest/chaininfo.json")
            .body(())
            .unwrap()
            .into_parts();
        let never = |_| async { panic!("body read for a refused peer") };
        let ans = answer(&sh, &outsider, &head, never).await;
        assert_eq!((ans.reply.status, ans.close), (403, true));
        let ok = answer(&sh, &local, &head, |_| async { Ok(Bytes::new()) }).await;
        assert_eq!((ok.reply.status, ok.close), (200, false));
        // `u:p`
        let (head, ()) = http::Request::post("/")
            .header(AUTHORIZATION, "Basic dTpw")
            .body(())
            .unwrap()
            .into_parts();
        let ans = answer(&sh, &local, &head, |_| async { Ok(Bytes::from_static(b"[]")) }).await;
        assert_eq!((ans.reply.status, ans.reply.body.as_ref()), (200, &b"[]"[..]));
    }

    #[test]
    fn routes_follow_core() {
        let post = Method::POST;
        let get = Method::GET;
        assert_eq!(route(&post, "/", false), Route::JsonRpc);
        assert_eq!(route(&post, "/wallet/w1", false), Route::JsonRpc);
        assert_eq!(route(&post, "/wallet/", false), Route::JsonRpc);
        assert_eq!(route(&get, "/", false), Route::Status(405));
        assert_eq!(route(&Method::PUT, "/wallet/x", false), Route::Status(405));
        assert_eq!(route(&post, "/walletx", false), Route::Status(404));
        assert_eq!(route(&get, "/rest/chaininfo.json", false), Route::Status(404));
        assert_eq!(route(&get, "/rest/chaininfo.json", true), Route::Rest);
        assert_eq!(route(&post, "/rest/chaininfo.json", true), Route::Status(405));
        assert_eq!(route(&get, "/other", true), Route::Status(404));
    }

    #[test]
    fn allow_list_decides_access() {
        let mut allow = AllowIp::loopback().to_vec();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(is_allowed(&allow, ip("127.0.0.1")));
        assert!(is_allowed(&allow, ip("::1")));
        assert!(is_allowed(&allow, ip("::ffff:127.0.0.1")));
        assert!(!is_allowed(&allow, ip("192.168.1.5")));
        assert!(!is_allowed(&allow, ip("::2")));
        allow.push(AllowIp::parse("192.168.1.0/24").unwrap());
        assert!(is_allowed(&allow, ip("192.168.1.5")));
        assert!(is_allowed(&allow, ip("::ffff:192.168.1.200")));
        assert!(!is_allowed(&allow, ip("192.168.2.5")));
        assert!(!is_allowed(&[], ip("127.0.0.1")));
    }
}
