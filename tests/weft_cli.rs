//! weft-cli and the RPC client library against small fake servers written here (HTTP/1.1 on
//! hyper, HTTP/3 on h3-quinn) that check Basic auth and answer fixed JSON per method; the
//! real server doors are tested elsewhere.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use weft::rpc::client::convert::{convert_named, convert_positional, ConvertError};
use weft::rpc::client::{ClientError, ClientTarget, Door, RpcClient};

const COOKIE_PASS: &str = "c0ffee";

// ---- param conversion -------------------------------------------------------------------

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn positional_params_follow_the_table() {
    let p = |m: &str, a: &[&str]| convert_positional(m, &strs(a)).unwrap();
    assert_eq!(p("getblockhash", &["0"]), json!([0]));
    assert_eq!(p("getblock", &["00ab", "2"]), json!(["00ab", 2]));
    assert_eq!(p("getblockheader", &["00ab", "false"]), json!(["00ab", false]));
    assert_eq!(p("gettxout", &["txid", "1", "true"]), json!(["txid", 1, true]));
    assert_eq!(
        p("gettxoutsetinfo", &["muhash", "5", "true"]),
        json!(["muhash", 5, true])
    );
    assert_eq!(p("getrawtransaction", &["t", "1", "bh"]), json!(["t", 1, "bh"]));
    assert_eq!(p("testmempoolaccept", &["[\"00\"]", "0.1"]), json!([["00"], 0.1]));
    assert_eq!(p("generatetoaddress", &["1", "bcrt1q", "5"]), json!([1, "bcrt1q", 5]));
    assert_eq!(p("prioritisetransaction", &["t", "0", "-1000"]), json!(["t", 0, -1000]));
    assert_eq!(p("disconnectnode", &["", "3"]), json!(["", 3]));
    assert_eq!(
        p("getblocktemplate", &[r#"{"rules":["segwit"]}"#]),
        json!([{"rules": ["segwit"]}])
    );
    // Not in the table: strings, even when they look like JSON.
    assert_eq!(p("help", &["getblock"]), json!(["getblock"]));
    assert_eq!(p("addnode", &["1.2.3.4", "add"]), json!(["1.2.3.4", "add"]));
    assert_eq!(p("getmempoolentry", &["123"]), json!(["123"]));
    assert_eq!(p("getblockcount", &[]), json!([]));
    assert_eq!(
        convert_positional("getblockhash", &strs(&["abc"])),
        Err(ConvertError::Json("abc".into()))
    );
    assert_eq!(ConvertError::Json("abc".into()).to_string(), "Error parsing JSON: abc");
}

#[test]
fn named_params() {
    let n = |m: &str, a: &[&str]| convert_named(m, &strs(a));
    assert_eq!(
        n("getblock", &["blockhash=00ab", "verbosity=2"]).unwrap(),
        json!({"blockhash": "00ab", "verbosity": 2})
    );
    // A later value overrides, values may contain '=', and unknown names are strings.
    assert_eq!(
        n("getblock", &["verbosity=1", "verbosity=0", "blockhash=a=b", "x=1"]).unwrap(),
        json!({"blockhash": "a=b", "verbosity": 0, "x": "1"})
    );
    // Arguments without '=' go positionally under "args", converted by position.
    assert_eq!(
        n("getblock", &["00ab", "1", "verbose=true"]).unwrap(),
        json!({"verbose": true, "args": ["00ab", 1]})
    );
    // An explicit args= is left alone.
    assert_eq!(n("echo", &["args=x", "y"]).unwrap(), json!({"args": "x"}));
    assert_eq!(n("getblockhash", &["height=x"]), Err(ConvertError::Json("x".into())));
    assert_eq!(n("getblockcount", &[]).unwrap(), json!({}));
}

// ---- the fake server ----------------------------------------------------------------------

/// The answer to one request body: status and JSON text, as Core's 1.0 mode sends them.
fn answer(auth: Option<&str>, body: &[u8]) -> (u16, String) {
    let cookie = format!("Basic {}", b64(&format!("__cookie__:{COOKIE_PASS}")));
    let user = format!("Basic {}", b64("alice:secret"));
    if auth != Some(cookie.as_str()) && auth != Some(user.as_str()) {
        return (401, String::new());
    }
    let Ok(req) = serde_json::from_slice::<Value>(body) else {
        return (
            500,
            r#"{"result":null,"error":{"code":-32700,"message":"Parse error"},"id":null}"#.into(),
        );
    };
    let params = req["params"].clone();
    let ok = |r: &str| (200, format!(r#"{{"result":{r},"error":null,"id":1}}"#));
    let err = |status: u16, code: i64, msg: &str| {
        (
            status,
            json!({"result": null, "error": {"code": code, "message": msg}, "id": 1}).to_string(),
        )
    };
    match req["method"].as_str().unwrap_or_default() {
        "getblockcount" => ok("42"),
        "getbestblockhash" => ok(r#""00000000000000000000000000000000000000000000000000000000000000ab""#),
        "getmempoolinfo" => ok(r#"{"loaded":true,"size":0,"minrelaytxfee":0.00001000,"list":[]}"#),
        "ping" => ok("null"),
        "echo" | "echojson" => ok(&params.to_string()),
        "getblockhash" => err(500, -8, "Block height out of range"),
        _ => err(404, -32601, "Method not found"),
    }
}

fn b64(s: &str) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in s.as_bytes().chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            out.push(if i <= c.len() {
                A[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

/// Serves HTTP/1.1 on `listener`, counting connections.
async fn serve_http1(listener: TcpListener, keep_alive: bool) -> Arc<AtomicUsize> {
    let conns = Arc::new(AtomicUsize::new(0));
    let count = conns.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let svc = service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
                    let auth = req
                        .headers()
                        .get(hyper::header::AUTHORIZATION)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    let body = req
                        .into_body()
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    let (status, text) = answer(auth.as_deref(), &body);
                    let resp = hyper::Response::builder()
                        .status(status)
                        .header("content-type", "application/json")
                        .body(Full::new(Bytes::from(text)))
                        .unwrap();
                    Ok::<_, Infallible>(resp)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .keep_alive(keep_alive)
                    .serve_connection(TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
    conns
}

/// A temp root with `regtest/` and, if asked, a cookie in it.
fn datadir(cookie: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("regtest")).unwrap();
    if cookie {
        write_cookie(dir.path());
    }
    dir
}

fn write_cookie(root: &Path) {
    std::fs::write(root.join("regtest/.cookie"), format!("__cookie__:{COOKIE_PASS}")).unwrap();
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

async fn cli(root: &Path, port: u16, args: &[&str], stdin: &str) -> Run {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_weft-cli"));
    cmd.arg(format!("-datadir={}", root.display()))
        .arg(format!("-rpcport={port}"))
        .args(args)
        .env_remove("WEFT_RPCPASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

async fn http1_server(keep_alive: bool) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    (port, serve_http1(listener, keep_alive).await)
}

// ---- weft-cli -----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_outputs_and_errors() {
    let (port, _) = http1_server(true).await;
    let dir = datadir(true);
    let root = dir.path();

    let r = cli(root, port, &["getblockcount"], "").await;
    assert_eq!((r.code, r.stdout.as_str(), r.stderr.as_str()), (0, "42\n", ""));
    // A string result prints raw, without quotes.
    let r = cli(root, port, &["getbestblockhash"], "").await;
    assert_eq!(r.stdout, format!("{:0>64}\n", "ab"));
    // Objects pretty-print with two spaces, keeping numbers as the server wrote them.
    let r = cli(root, port, &["getmempoolinfo"], "").await;
    assert_eq!(
        r.stdout,
        "{\n  \"loaded\": true,\n  \"size\": 0,\n  \"minrelaytxfee\": 0.00001000,\n  \"list\": []\n}\n"
    );
    // null prints nothing.
    let r = cli(root, port, &["ping"], "").await;
    assert_eq!((r.code, r.stdout.as_str()), (0, ""));

    // Errors: Core's format on stderr, exit code abs(code) truncated to 8 bits as the OS does for Core.
    let r = cli(root, port, &["getblockhash", "99999"], "").await;
    assert_eq!(r.code, 8);
    assert_eq!(r.stdout, "");
    assert_eq!(r.stderr, "error code: -8\nerror message:\nBlock height out of range\n");
    let r = cli(root, port, &["nosuchmethod"], "").await;
    assert_eq!(r.code, 32601 & 0xff);
    assert_eq!(r.stderr, "error code: -32601\nerror message:\nMethod not found\n");
    // A convert param that is not JSON never reaches the server.
    let r = cli(root, port, &["getblockhash", "abc"], "").await;
    assert_eq!((r.code, r.stderr.as_str()), (1, "error: Error parsing JSON: abc\n"));
    let r = cli(root, port, &[], "").await;
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (1, "error: too few parameters (need at least command)\n")
    );

    // Positional conversion, negative numbers after the command are params, not flags.
    let r = cli(root, port, &["echojson", "-5", "[1,\"a\"]", "\"x\""], "").await;
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v, json!([-5, [1, "a"], "x"]));
    let r = cli(root, port, &["echo", "1", "true"], "").await;
    assert_eq!(r.stdout, "[\n  \"1\",\n  \"true\"\n]\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_named_and_stdin() {
    let (port, _) = http1_server(true).await;
    let dir = datadir(true);
    let root = dir.path();

    let r = cli(
        root,
        port,
        &["-named", "echojson", "arg1=[1,2]", "arg0=\"x\"", "arg2=3"],
        "",
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v, json!({"arg0": "x", "arg1": [1, 2], "arg2": 3}));
    let r = cli(root, port, &["-named", "echojson", "arg0={"], "").await;
    assert_eq!((r.code, r.stderr.as_str()), (1, "error: Error parsing JSON: {\n"));

    // -stdin: one argument per line, appended after the command-line ones.
    let r = cli(root, port, &["-stdin", "echojson", "1"], "2\n{\"a\":3}\n").await;
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v, json!([1, 2, {"a": 3}]));
    let r = cli(root, port, &["-stdin", "-named", "echo"], "a=1\nb=two words\n").await;
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v, json!({"a": "1", "b": "two words"}));

    // -stdinrpcpass takes the first line as the password; -stdin gets the rest.
    let r = cli(
        root,
        port,
        &["-rpcuser=alice", "-stdinrpcpass", "-stdin", "echo"],
        "secret\nq\n",
    )
    .await;
    assert_eq!((r.code, r.stdout.as_str()), (0, "[\n  \"q\"\n]\n"), "{}", r.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_auth_failures_and_no_server() {
    let (port, _) = http1_server(true).await;
    let dir = datadir(true);

    let r = cli(
        dir.path(),
        port,
        &["-rpcuser=alice", "-rpcpassword=wrong", "getblockcount"],
        "",
    )
    .await;
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (1, "error: Authorization failed: Incorrect rpcuser or rpcpassword\n")
    );
    let r = cli(
        dir.path(),
        port,
        &["-rpcuser=alice", "-rpcpassword=secret", "getblockcount"],
        "",
    )
    .await;
    assert_eq!((r.code, r.stdout.as_str()), (0, "42\n"));

    let empty = datadir(false);
    let r = cli(empty.path(), port, &["getblockcount"], "").await;
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.starts_with(
            "error: Could not locate RPC credentials. No authentication cookie could be found, and RPC password is \
             not set."
        ),
        "{}",
        r.stderr
    );

    let closed = free_port().await;
    let r = cli(dir.path(), closed, &["getblockcount"], "").await;
    assert_eq!(r.code, 1);
    let want = format!("error: timeout on transient error: Could not connect to the server 127.0.0.1:{closed}");
    assert!(r.stderr.starts_with(&want), "{}", r.stderr);

    let r = cli(dir.path(), port, &["-datadir=/nonexistent/weft", "getblockcount"], "").await;
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("does not exist"), "{}", r.stderr);
}

async fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_rpcwait_waits_for_the_server() {
    let port = free_port().await;
    let dir = datadir(false);
    let root = dir.path().to_path_buf();
    let run = tokio::spawn(async move {
        let r = cli(&root, port, &["-rpcwait", "-rpcwaittimeout=40", "getblockcount"], "").await;
        (r, root)
    });
    // The server (and its cookie) appear only after the CLI has failed a few times.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(!run.is_finished());
    write_cookie(dir.path());
    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    serve_http1(listener, true).await;
    let (r, _) = run.await.unwrap();
    assert_eq!((r.code, r.stdout.as_str()), (0, "42\n"), "{}", r.stderr);
}

// ---- the library over HTTP/1.1 ------------------------------------------------------------

fn target(port: u16, door: Door) -> ClientTarget {
    let mut t = ClientTarget::new("127.0.0.1", port, "__cookie__", COOKIE_PASS, door);
    t.timeout = Some(Duration::from_secs(20));
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_client_reuses_and_reconnects() {
    let (port, conns) = http1_server(true).await;
    let c = RpcClient::connect(target(port, Door::Http1)).await.unwrap();
    for _ in 0..5 {
        assert_eq!(c.call("getblockcount", json!([])).await.unwrap(), json!(42));
    }
    assert_eq!(conns.load(Ordering::SeqCst), 1, "keep-alive reuses one connection");
    let calls = (0..16).map(|i| c.call("echo", json!([i])));
    for (i, r) in futures_join(calls).await.into_iter().enumerate() {
        assert_eq!(r.unwrap(), json!([i]));
    }
    assert_eq!(
        c.call("getblockhash", json!([9])).await,
        Err(ClientError::Rpc {
            code: -8,
            message: "Block height out of range".into()
        })
    );
    let (status, body) = c.raw(Bytes::from_static(b"[{\"method\":\"ping\"}]")).await.unwrap();
    assert_eq!(status, 404);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["error"]["code"],
        json!(-32601)
    );

    // A server that closes after every reply: each call needs, and gets, a new connection.
    let (port, conns) = http1_server(false).await;
    let c = RpcClient::connect(target(port, Door::Http1)).await.unwrap();
    for _ in 0..3 {
        assert_eq!(c.call("getblockcount", json!([])).await.unwrap(), json!(42));
    }
    assert!(conns.load(Ordering::SeqCst) >= 3);

    let mut bad = target(port, Door::Http1);
    bad.password = "nope".into();
    let c = RpcClient::connect(bad).await.unwrap();
    assert_eq!(c.call("getblockcount", json!([])).await, Err(ClientError::Unauthorized));
    let closed = free_port().await;
    assert!(matches!(
        RpcClient::connect(target(closed, Door::Http1)).await,
        Err(ClientError::Connect(_))
    ));
}

/// Runs all futures concurrently on the current task.
async fn futures_join<F: std::future::Future>(futs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futs {
        set.push(Box::pin(f));
    }
    let mut out: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in set.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(|o| o.unwrap()).collect()
}

// ---- the library over HTTP/3 --------------------------------------------------------------

/// A self-signed certificate for `localhost`, its PEM written to `dir/name`.
fn cert(dir: &Path, name: &str) -> (rcgen::CertifiedKey, PathBuf) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, ck.cert.pem()).unwrap();
    (ck, path)
}

/// Serves HTTP/3 on 127.0.0.1, counting QUIC connections.
fn serve_http3(ck: &rcgen::CertifiedKey) -> (SocketAddr, Arc<AtomicUsize>) {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(ck.cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.key_pair.serialize_der())),
        )
        .unwrap();
    tls.alpn_protocols = vec![b"h3".to_vec()];
    let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls).unwrap();
    let server = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    let endpoint = quinn::Endpoint::server(server, "127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = endpoint.local_addr().unwrap();
    let conns = Arc::new(AtomicUsize::new(0));
    let count = conns.clone();
    tokio::spawn(async move {
        while let Some(incoming) = endpoint.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
                let Ok(conn) = incoming.await else { return };
                count.fetch_add(1, Ordering::SeqCst);
                let Ok(mut h3c) = h3::server::Connection::<_, Bytes>::new(h3_quinn::Connection::new(conn)).await else {
                    return;
                };
                while let Ok(Some(resolver)) = h3c.accept().await {
                    tokio::spawn(async move {
                        let Ok((req, mut stream)) = resolver.resolve_request().await else {
                            return;
                        };
                        let auth = req
                            .headers()
                            .get(http::header::AUTHORIZATION)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string);
                        let mut body = Vec::new();
                        while let Ok(Some(mut chunk)) = stream.recv_data().await {
                            while chunk.has_remaining() {
                                let n = chunk.chunk().len();
                                body.extend_from_slice(chunk.chunk());
                                chunk.advance(n);
                            }
                        }
                        let (status, text) = answer(auth.as_deref(), &body);
                        let resp = http::Response::builder().status(status).body(()).unwrap();
                        let _ = stream.send_response(resp).await;
                        let _ = stream.send_data(Bytes::from(text)).await;
                        let _ = stream.finish().await;
                    });
                }
            });
        }
    });
    (addr, conns)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http3_client() {
    let dir = tempfile::tempdir().unwrap();
    let (ck, good) = cert(dir.path(), "rpc-cert.pem");
    let (_, other) = cert(dir.path(), "other.pem");
    let (addr, conns) = serve_http3(&ck);
    let door = Door::Http3 { cert: good.clone() };

    let c = RpcClient::connect(target(addr.port(), door.clone())).await.unwrap();
    assert_eq!(c.call("getblockcount", json!([])).await.unwrap(), json!(42));
    let reply = c.call_reply("getmempoolinfo", json!([])).await.unwrap();
    assert!(reply.text.contains("0.00001000"));
    // Many concurrent calls, one request stream each, over the one QUIC connection.
    let calls = (0..32).map(|i| c.call("echo", json!([i])));
    for (i, r) in futures_join(calls).await.into_iter().enumerate() {
        assert_eq!(r.unwrap(), json!([i]));
    }
    assert_eq!(conns.load(Ordering::SeqCst), 1);
    assert_eq!(
        c.call("nosuchmethod", json!([])).await,
        Err(ClientError::Rpc {
            code: -32601,
            message: "Method not found".into()
        })
    );
    let mut bad = target(addr.port(), door.clone());
    bad.password = "nope".into();
    let c2 = RpcClient::connect(bad).await.unwrap();
    assert_eq!(
        c2.call("getblockcount", json!([])).await,
        Err(ClientError::Unauthorized)
    );

    // Trusting a different certificate: the handshake fails.
    let wrong = RpcClient::connect(target(addr.port(), Door::Http3 { cert: other })).await;
    assert!(matches!(wrong, Err(ClientError::Connect(_))), "{:?}", wrong.err());
    let missing = RpcClient::connect(target(
        addr.port(),
        Door::Http3 {
            cert: dir.path().join("none.pem"),
        },
    ))
    .await;
    assert!(matches!(missing, Err(ClientError::Connect(_))));

    // weft-cli -http3, trusting the certificate given by -rpccert.
    let root = datadir(true);
    let cert_flag = format!("-rpccert={}", good.display());
    let r = cli(root.path(), addr.port(), &["-http3", &cert_flag, "getblockcount"], "").await;
    assert_eq!((r.code, r.stdout.as_str()), (0, "42\n"), "{}", r.stderr);
}
