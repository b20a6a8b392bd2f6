//! The RPC front doors over real sockets on 127.0.0.1: auth, limits and routes over HTTP/1.1
//! and HTTP/3, with a tiny echo service standing in for the handler.

use std::future::poll_fn;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use weft::config::rpc::{AllowIp, RpcAuthEntry, RpcConfig};
use weft::rpc::server::{self, auth, cert, limits, RpcServer};
use weft::rpc::{BoxFuture, HttpReply, Service};

/// Echoes JSON-RPC bodies; answers REST with the path it got.
struct Echo;

impl Service for Echo {
    fn json_rpc(&self, body: Bytes) -> BoxFuture<HttpReply> {
        Box::pin(async move { HttpReply::json(200, body) })
    }

    fn rest(&self, path_and_query: String) -> BoxFuture<HttpReply> {
        Box::pin(async move { HttpReply::text(200, format!("rest {path_and_query}")) })
    }
}

const ALICE: &str = "alice:secret";
const BOB_RPCAUTH: &str = "bob:salt123$1209e81139988a781240a48fd64ab8a29d1e19750ac3c1b752307655f8c4d1bb";
const BOB: &str = "bob:hunter2";

fn config(dir: &Path, http3: bool, rest: bool) -> RpcConfig {
    RpcConfig {
        enabled: true,
        binds: vec!["127.0.0.1:0".parse().unwrap()],
        allow: AllowIp::loopback().to_vec(),
        user: Some(("alice".into(), "secret".into())),
        rpcauth: vec![RpcAuthEntry::parse(BOB_RPCAUTH).unwrap()],
        cookie_file: Some(dir.join(".cookie")),
        cert_file: dir.join("rpc-cert.pem"),
        key_file: dir.join("rpc-key.pem"),
        http3,
        rest,
        warnings: vec![],
    }
}

async fn start(dir: &Path, http3: bool, rest: bool) -> RpcServer {
    server::start(&config(dir, http3, rest), Arc::new(Echo)).await.unwrap()
}

fn b64(s: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in s.as_bytes().chunks(3) {
        let n =
            (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn basic(creds: &str) -> String {
    format!("Basic {}", b64(creds))
}

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one HTTP/1.x response with a `Content-Length` body.
async fn read_resp<R: tokio::io::AsyncRead + Unpin>(r: &mut BufReader<R>) -> Resp {
    let mut line = String::new();
    r.read_line(&mut line).await.unwrap();
    let status = line
        .split(' ')
        .nth(1)
        .unwrap_or_else(|| panic!("status line {line:?}"))
        .parse()
        .unwrap();
    let mut headers = Vec::new();
    loop {
        line.clear();
        r.read_line(&mut line).await.unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').unwrap();
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let mut resp = Resp {
        status,
        headers,
        body: Vec::new(),
    };
    let len: usize = resp.header("content-length").unwrap_or("0").parse().unwrap();
    resp.body.resize(len, 0);
    r.read_exact(&mut resp.body).await.unwrap();
    resp
}

async fn connect(addr: SocketAddr) -> BufReader<TcpStream> {
    BufReader::new(TcpStream::connect(addr).await.unwrap())
}

fn post(path: &str, auth: Option<&str>, body: &str) -> String {
    let auth = auth
        .map(|a| format!("Authorization: {}\r\n", basic(a)))
        .unwrap_or_default();
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

async fn call(r: &mut BufReader<TcpStream>, raw: &str) -> Resp {
    r.get_mut().write_all(raw.as_bytes()).await.unwrap();
    read_resp(r).await
}

const GETBLOCKCOUNT: &str = r#"{"jsonrpc":"1.0","id":1,"method":"getblockcount","params":[]}"#;

#[tokio::test]
async fn cookie_login_private_file_removed_on_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), false, false).await;
    let cookie_path = dir.path().join(".cookie");
    let cookie = std::fs::read_to_string(&cookie_path).unwrap();
    assert!(cookie.starts_with("__cookie__:") && cookie.len() == 11 + 64, "{cookie}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cookie_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let mut c = connect(srv.http_addrs[0]).await;
    let r = call(&mut c, &post("/", Some(&cookie), GETBLOCKCOUNT)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.body, GETBLOCKCOUNT.as_bytes());
    srv.shutdown().await;
    assert!(!cookie_path.exists(), "cookie removed on shutdown");
    // The idle keep-alive connection was closed too.
    let mut rest = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(5), c.read_to_end(&mut rest))
        .await
        .unwrap();
    assert_eq!(n.unwrap_or(0), 0);
}

#[tokio::test]
async fn user_password_and_rpcauth_login() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), false, false).await;
    let mut c = connect(srv.http_addrs[0]).await;
    for creds in [ALICE, BOB] {
        let r = call(&mut c, &post("/", Some(creds), GETBLOCKCOUNT)).await;
        assert_eq!(r.status, 200, "{creds}");
        let r = call(&mut c, &post("/wallet/w1", Some(creds), "[]")).await;
        assert_eq!((r.status, r.body.as_slice()), (200, &b"[]"[..]), "{creds}");
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn bad_login_gets_401_after_delay_without_blocking_others() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), false, false).await;
    let addr = srv.http_addrs[0];
    let t0 = Instant::now();
    let bad = tokio::spawn(async move {
        let mut c = connect(addr).await;
        let r = call(&mut c, &post("/", Some("alice:wrong"), GETBLOCKCOUNT)).await;
        (r, t0.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut c = connect(addr).await;
    let good = call(&mut c, &post("/", Some(ALICE), GETBLOCKCOUNT)).await;
    let good_at = t0.elapsed();
    assert!(
        !bad.is_finished(),
        "a good login on another connection is not held up by a bad one"
    );
    let (r, bad_at) = bad.await.unwrap();
    assert_eq!(good.status, 200);
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some("Basic realm=\"jsonrpc\""));
    assert!(r.body.is_empty());
    assert!(bad_at >= auth::AUTH_FAIL_DELAY, "{bad_at:?}");
    assert!(good_at < bad_at);
    // No credentials at all: the same.
    let r = call(&mut c, &post("/", None, GETBLOCKCOUNT)).await;
    assert_eq!(r.status, 401);
    srv.shutdown().await;
}

#[tokio::test]
async fn keep_alive_http10_and_routes() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), false, false).await;
    let mut c = connect(srv.http_addrs[0]).await;
    for i in 0..5 {
        let body = format!(r#"{{"id":{i},"method":"getblockcount"}}"#);
        let r = call(&mut c, &post("/", Some(ALICE), &body)).await;
        assert_eq!((r.status, r.body), (200, body.into_bytes()));
    }
    // No Content-Type, as some clients send.
    let raw = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Length: 2\r\n\r\n{{}}",
        basic(ALICE)
    );
    assert_eq!(call(&mut c, &raw).await.status, 200);
    // Core's answers for other methods and paths.
    let get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_eq!(call(&mut c, get).await.status, 405);
    assert_eq!(call(&mut c, &post("/nope", Some(ALICE), "{}")).await.status, 404);
    let rest = "GET /rest/chaininfo.json HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_eq!(call(&mut c, rest).await.status, 404, "REST is off without -rest");

    // HTTP/1.0, as python's http.client can send: answered, then closed.
    let mut c10 = connect(srv.http_addrs[0]).await;
    let raw = format!(
        "POST / HTTP/1.0\r\nAuthorization: {}\r\nContent-Length: 2\r\n\r\n[]",
        basic(ALICE)
    );
    let r = call(&mut c10, &raw).await;
    assert_eq!((r.status, r.body.as_slice()), (200, &b"[]"[..]));
    let mut rest = Vec::new();
    assert_eq!(c10.read_to_end(&mut rest).await.unwrap(), 0);
    srv.shutdown().await;
}

#[tokio::test]
async fn rest_needs_the_flag_but_no_auth() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), false, true).await;
    let mut c = connect(srv.http_addrs[0]).await;
    let r = call(&mut c, "GET /rest/chaininfo.json?x=1 HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"rest /rest/chaininfo.json?x=1");
    assert_eq!(r.header("content-type"), Some("text/plain"));
    srv.shutdown().await;
}

#[tokio::test]
async fn oversized_body_gets_413_over_http1() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), false, false).await;
    let addr = srv.http_addrs[0];
    // Declared too large: refused before any of the body is sent.
    let mut c = connect(addr).await;
    let head = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Length: {}\r\n\r\n",
        basic(ALICE),
        limits::MAX_BODY_BYTES + 1
    );
    let r = call(&mut c, &head).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.header("connection"), Some("close"));

    // Streamed (chunked) past the limit: refused once the limit is passed.
    let stream = TcpStream::connect(addr).await.unwrap();
    let (rd, mut wr) = stream.into_split();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
        basic(ALICE)
    );
    let writer = tokio::spawn(async move {
        wr.write_all(head.as_bytes()).await?;
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..(limits::MAX_BODY_BYTES >> 20) + 2 {
            wr.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await?;
            wr.write_all(&chunk).await?;
            wr.write_all(b"\r\n").await?;
        }
        wr.write_all(b"0\r\n\r\n").await
    });
    let mut r = BufReader::new(rd);
    let mut line = String::new();
    r.read_line(&mut line).await.unwrap();
    assert!(line.starts_with("HTTP/1.1 413"), "{line:?}");
    let _ = writer.await;
    srv.shutdown().await;
}

#[tokio::test]
async fn rate_limit_answers_429() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), false, false).await;
    let stream = TcpStream::connect(srv.http_addrs[0]).await.unwrap();
    let (rd, mut wr) = stream.into_split();
    // Pipelined, so the requests arrive faster than the refill rate.
    let n = 2 * limits::RATE_BURST as usize;
    let t0 = Instant::now();
    let writer = tokio::spawn(async move {
        let req = b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n".repeat(n);
        wr.write_all(&req).await.unwrap();
        wr
    });
    let mut r = BufReader::new(rd);
    let mut seen = std::collections::HashMap::new();
    for _ in 0..n {
        let resp = read_resp(&mut r).await;
        if resp.status == 429 {
            assert_eq!(resp.body, b"Too many requests\n");
        }
        *seen.entry(resp.status).or_insert(0usize) += 1;
    }
    let secs = t0.elapsed().as_secs_f64();
    let ok = seen.get(&404).copied().unwrap_or(0);
    let limited = seen.get(&429).copied().unwrap_or(0);
    assert_eq!(ok + limited, n, "{seen:?}");
    assert!(ok >= limits::RATE_BURST as usize, "{seen:?}");
    assert!(
        ok as f64 <= f64::from(limits::RATE_BURST) + f64::from(limits::RATE_PER_SEC) * secs + 1.0,
        "{seen:?} in {secs}s"
    );
    assert!(limited > 0, "{seen:?} in {secs}s");
    drop(writer.await);
    srv.shutdown().await;
}

#[tokio::test]
async fn connection_cap_header_limit_and_idle_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let lim = limits::Limits {
        max_connections: 2,
        timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let srv = server::start_with_limits(&config(dir.path(), false, false), Arc::new(Echo), lim)
        .await
        .unwrap();
    let addr = srv.http_addrs[0];
    let mut a = connect(addr).await;
    let mut b = connect(addr).await;
    assert_eq!(call(&mut a, &post("/", Some(ALICE), "{}")).await.status, 200);
    assert_eq!(call(&mut b, &post("/", Some(ALICE), "{}")).await.status, 200);
    // A third connection is closed at once.
    let mut c = connect(addr).await;
    let mut buf = Vec::new();
    let _ = c.get_mut().write_all(post("/", Some(ALICE), "{}").as_bytes()).await;
    assert_eq!(c.read_to_end(&mut buf).await.unwrap_or(0), 0);
    // Idle connections end after the server timeout, freeing their slots.
    let t0 = Instant::now();
    assert_eq!(a.read_to_end(&mut buf).await.unwrap_or(0), 0);
    assert!(t0.elapsed() < Duration::from_secs(5));
    drop(b);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut d = connect(addr).await;
    // A header section over the limit is refused (hyper answers 431).
    let raw = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\nContent-Length: 2\r\n\r\n{{}}",
        "p".repeat(limits::MAX_HEADER_BYTES)
    );
    assert_eq!(call(&mut d, &raw).await.status, 431);
    srv.shutdown().await;
}

// ---- HTTP/3 ----

/// A quinn client endpoint whose only trust anchors are the certificates in `roots_pem`.
fn h3_client(roots_pem: &Path) -> quinn::Endpoint {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(roots_pem).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"h3".to_vec()];
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls).unwrap();
    let mut ep = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    ep.set_default_client_config(quinn::ClientConfig::new(Arc::new(crypto)));
    ep
}

type H3Send = h3::client::SendRequest<h3_quinn::OpenStreams, Bytes>;

async fn h3_connect(ep: &quinn::Endpoint, addr: SocketAddr) -> Result<H3Send, String> {
    let conn = ep
        .connect(addr, "localhost")
        .map_err(|e| e.to_string())?
        .await
        .map_err(|e| e.to_string())?;
    let (mut driver, send) = h3::client::new(h3_quinn::Connection::new(conn))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move { poll_fn(|cx| driver.poll_close(cx)).await });
    Ok(send)
}

/// One request; a body the server refuses to read is tolerated, its answer still read.
async fn h3_call(send: &mut H3Send, path: &str, auth: Option<&str>, extra: &[(&str, String)], body: Bytes) -> Resp {
    let mut req = http::Request::builder()
        .method("POST")
        .uri(format!("https://localhost{path}"));
    if let Some(a) = auth {
        req = req.header("authorization", basic(a));
    }
    for (k, v) in extra {
        req = req.header(*k, v);
    }
    let mut stream = send.send_request(req.body(()).unwrap()).await.unwrap();
    if !body.is_empty() {
        let _ = stream.send_data(body).await;
    }
    let _ = stream.finish().await;
    let resp = stream.recv_response().await.unwrap();
    let mut out = BytesMut::new();
    while let Some(mut chunk) = stream.recv_data().await.unwrap() {
        out.put(chunk.copy_to_bytes(chunk.remaining()));
    }
    Resp {
        status: resp.status().as_u16(),
        headers: resp
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect(),
        body: out.to_vec(),
    }
}

#[tokio::test]
async fn http3_serves_clients_trusting_the_cert_file() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path(), true, false).await;
    assert_eq!(srv.h3_addrs.len(), 1);
    assert_eq!(srv.h3_addrs[0].port(), srv.http_addrs[0].port(), "same port on UDP");
    let cookie = std::fs::read_to_string(dir.path().join(".cookie")).unwrap();
    let ep = h3_client(&dir.path().join("rpc-cert.pem"));
    let mut send = h3_connect(&ep, srv.h3_addrs[0]).await.unwrap();
    let body = Bytes::from_static(GETBLOCKCOUNT.as_bytes());
    for creds in [cookie.as_str(), ALICE, BOB] {
        let r = h3_call(&mut send, "/", Some(creds), &[], body.clone()).await;
        assert_eq!(r.status, 200, "{creds}");
        assert_eq!(r.body, GETBLOCKCOUNT.as_bytes());
        assert_eq!(r.header("content-type"), Some("application/json"));
    }
    let t0 = Instant::now();
    let r = h3_call(&mut send, "/wallet/w", Some("alice:nope"), &[], body.clone()).await;
    assert_eq!(r.status, 401);
    assert!(t0.elapsed() >= auth::AUTH_FAIL_DELAY);
    assert_eq!(r.header("www-authenticate"), Some("Basic realm=\"jsonrpc\""));
    assert_eq!(
        h3_call(&mut send, "/nope", Some(ALICE), &[], body.clone()).await.status,
        404
    );

    // Too large, declared and streamed; the connection still serves afterwards.
    let big = [("content-length", (limits::MAX_BODY_BYTES + 1).to_string())];
    let r = h3_call(&mut send, "/", Some(ALICE), &big, Bytes::from_static(b"{}")).await;
    assert_eq!(r.status, 413);
    let huge = Bytes::from(vec![b'x'; limits::MAX_BODY_BYTES + 1]);
    let r = h3_call(&mut send, "/", Some(ALICE), &[], huge).await;
    assert_eq!(r.status, 413);
    assert_eq!(h3_call(&mut send, "/", Some(ALICE), &[], body).await.status, 200);

    // A restart reuses the certificate, so clients keep trusting it.
    srv.shutdown().await;
    let pem = std::fs::read(dir.path().join("rpc-cert.pem")).unwrap();
    let srv = start(dir.path(), true, false).await;
    assert_eq!(std::fs::read(dir.path().join("rpc-cert.pem")).unwrap(), pem);
    let mut send = h3_connect(&ep, srv.h3_addrs[0]).await.unwrap();
    let r = h3_call(&mut send, "/", Some(ALICE), &[], Bytes::from_static(b"[]")).await;
    assert_eq!(r.status, 200);
    srv.shutdown().await;
}

#[tokio::test]
async fn http3_client_trusting_another_cert_cannot_connect() {
    let dir = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let other_cert: PathBuf = other.path().join("c.pem");
    cert::load_or_create(&other_cert, &other.path().join("k.pem")).unwrap();
    let srv = start(dir.path(), true, false).await;
    let ep = h3_client(&other_cert);
    let err = h3_connect(&ep, srv.h3_addrs[0]).await.err().expect("must not connect");
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    srv.shutdown().await;
}
