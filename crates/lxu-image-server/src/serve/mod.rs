//! Serving a repository directory over HTTP and HTTPS.
//!
//! Built on hyper 1 (HTTP/1.1 only) + tokio-rustls with the ring provider
//! rather than axum + tower-http + axum-server: the server is one handler for
//! static files, axum's router and tower's middleware stack would add crates
//! without removing code (tower-http's `ServeDir` has no ETag / If-None-Match,
//! so that logic had to be written anyway), and owning the file lookup lets it
//! use `openat2(RESOLVE_BENEATH)` so that neither `..` nor a symlink can leave
//! the root.

mod files;
mod tls;

use std::convert::Infallible;
use std::io;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsAcceptor;

pub use tls::{generate_self_signed, SelfSigned, SelfSignedFiles};

use crate::error::{io_err, IoError};
use crate::ServerError;
use files::{Conditions, Outcome, Root, Validators};

/// Read size for file bodies: large enough to keep TLS records full and
/// syscalls few, small enough to stream.
const CHUNK: usize = 256 << 10;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error("cannot bind {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error("`{path}`")]
    Pem {
        path: PathBuf,
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    #[error("`{path}`: no CERTIFICATE block")]
    NoCertificate { path: PathBuf },
    #[error("tls configuration")]
    Tls(#[source] tokio_rustls::rustls::Error),
    #[error("certificate generation")]
    Cert(#[source] rcgen::Error),
    #[error("https needs both a certificate and a key")]
    MissingTlsFiles,
    #[error("nothing to serve: neither an http nor an https address was given")]
    NoListener,
    #[error("cannot start the async runtime")]
    Runtime(#[source] io::Error),
    #[error("the server thread panicked")]
    Panicked,
}

/// What and where to serve.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// The repository directory (the one holding `meta/` and `images/`).
    pub root: PathBuf,
    pub http_addr: Option<SocketAddr>,
    pub https_addr: Option<SocketAddr>,
    /// PEM certificate chain (leaf first), needed for https.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1), needed for https.
    pub tls_key: Option<PathBuf>,
    /// Async worker threads; 0 = 2. File reads run on tokio's blocking pool.
    pub threads: usize,
}

/// Serves until the process ends. `ready` is called once every listener is
/// bound, with the bound addresses: http first (if any), then https.
pub fn serve(opts: ServeOptions, ready: impl FnOnce(Vec<SocketAddr>)) -> Result<(), ServerError> {
    let handle = spawn(opts)?;
    ready(handle.addrs());
    handle.wait()
}

/// A server running on its own thread. Dropping the handle stops the server
/// too (without waiting for the thread).
#[derive(Debug)]
pub struct ServerHandle {
    pub http_addr: Option<SocketAddr>,
    pub https_addr: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    thread: std::thread::JoinHandle<()>,
}

impl ServerHandle {
    /// Bound addresses: http first (if any), then https.
    pub(crate) fn addrs(&self) -> Vec<SocketAddr> {
        self.http_addr.into_iter().chain(self.https_addr).collect()
    }

    /// Stops accepting, drops open connections and joins the thread.
    pub fn shutdown(self) -> Result<(), ServerError> {
        let _ = self.stop.send(true);
        self.thread.join().map_err(|_| ServeError::Panicked)?;
        Ok(())
    }

    /// Blocks until the server stops (it only stops through `shutdown`).
    pub(crate) fn wait(self) -> Result<(), ServerError> {
        self.thread.join().map_err(|_| ServeError::Panicked)?;
        Ok(())
    }
}

struct State {
    root: Root,
}

/// Binds the listeners (errors surface here, synchronously) and starts serving
/// on a background thread.
pub fn spawn(opts: ServeOptions) -> Result<ServerHandle, ServerError> {
    Ok(spawn_inner(opts)?)
}

fn spawn_inner(opts: ServeOptions) -> Result<ServerHandle, ServeError> {
    if opts.http_addr.is_none() && opts.https_addr.is_none() {
        return Err(ServeError::NoListener);
    }
    let root =
        Root::open(&opts.root).map_err(io_err("open the repository directory", &opts.root))?;
    let acceptor = match opts.https_addr {
        Some(_) => {
            let (Some(cert), Some(key)) = (&opts.tls_cert, &opts.tls_key) else {
                return Err(ServeError::MissingTlsFiles);
            };
            Some(TlsAcceptor::from(tls::load_config(cert, key)?))
        }
        None => None,
    };
    let bind = |addr: SocketAddr| -> Result<StdListener, ServeError> {
        let l = StdListener::bind(addr).map_err(|source| ServeError::Bind { addr, source })?;
        l.set_nonblocking(true)
            .map_err(|source| ServeError::Bind { addr, source })?;
        Ok(l)
    };
    let http = opts.http_addr.map(bind).transpose()?;
    let https = opts.https_addr.map(bind).transpose()?;
    let local = |l: &Option<StdListener>| -> Result<Option<SocketAddr>, ServeError> {
        l.as_ref()
            .map(|l| l.local_addr())
            .transpose()
            .map_err(|e| io_err("read the address of a listener for", &opts.root)(e).into())
    };
    let (http_addr, https_addr) = (local(&http)?, local(&https)?);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(if opts.threads == 0 { 2 } else { opts.threads })
        .thread_name("lxu-image-serve")
        .enable_io()
        .enable_time()
        .build()
        .map_err(ServeError::Runtime)?;
    let state = Arc::new(State { root });
    let (stop, stop_rx) = watch::channel(false);
    let thread = std::thread::Builder::new()
        .name("lxu-image-serve".into())
        .spawn(move || {
            runtime.block_on(async move {
                let mut tasks = Vec::new();
                if let Some(l) = http {
                    tasks.push(tokio::spawn(accept_loop(
                        l,
                        None,
                        state.clone(),
                        stop_rx.clone(),
                    )));
                }
                if let Some(l) = https {
                    tasks.push(tokio::spawn(accept_loop(
                        l,
                        acceptor,
                        state.clone(),
                        stop_rx.clone(),
                    )));
                }
                for t in tasks {
                    let _ = t.await;
                }
            });
            runtime.shutdown_timeout(Duration::from_secs(1));
        })
        .map_err(ServeError::Runtime)?;
    Ok(ServerHandle {
        http_addr,
        https_addr,
        stop,
        thread,
    })
}

async fn accept_loop(
    listener: StdListener,
    tls: Option<TlsAcceptor>,
    state: Arc<State>,
    mut stop: watch::Receiver<bool>,
) {
    let listener = match TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "cannot register listener");
            return;
        }
    };
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let state = state.clone();
                    let tls = tls.clone();
                    tokio::spawn(async move {
                        match tls {
                            None => serve_connection(stream, peer, state).await,
                            Some(acceptor) => {
                                match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await {
                                    Ok(Ok(s)) => serve_connection(s, peer, state).await,
                                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "tls handshake failed"),
                                    Err(_) => tracing::debug!(%peer, "tls handshake timed out"),
                                }
                            }
                        }
                    });
                }
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
}

async fn serve_connection<S>(stream: S, peer: SocketAddr, state: Arc<State>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| {
        let state = state.clone();
        async move { Ok::<_, Infallible>(handle(&state, req, peer).await) }
    });
    let result = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service)
        .await;
    if let Err(e) = result {
        tracing::debug!(%peer, error = %chain(&e), "connection ended with an error");
    }
}

/// `e` and its causes joined with ": " (hyper's errors keep the cause in `source()`).
fn chain(e: &dyn std::error::Error) -> String {
    let causes = std::iter::successors(Some(e), |e| e.source());
    causes.map(|e| e.to_string()).collect::<Vec<_>>().join(": ")
}

async fn handle(
    state: &Arc<State>,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Response<FileBody> {
    let resp = respond(state, &req).await;
    tracing::debug!(%peer, method = %req.method(), path = req.uri().path(), status = resp.status().as_u16(), "request");
    resp
}

fn simple(status: StatusCode, text: &'static str) -> Response<FileBody> {
    let mut r = Response::new(FileBody::Bytes(Some(Bytes::from_static(text.as_bytes()))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(text.len()));
    r
}

async fn respond(state: &Arc<State>, req: &Request<Incoming>) -> Response<FileBody> {
    let is_get = req.method() == Method::GET;
    if !is_get && req.method() != Method::HEAD {
        let mut r = simple(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let Some(rel) = files::resolve(req.uri().path()) else {
        return simple(StatusCode::NOT_FOUND, "not found\n");
    };
    let st = state.clone();
    let rel2 = rel.clone();
    let opened = tokio::task::spawn_blocking(move || st.root.open_file(&rel2)).await;
    let (file, md) = match opened {
        Ok(Ok(x)) => x,
        Ok(Err(e)) if e.kind() == io::ErrorKind::PermissionDenied => {
            return simple(StatusCode::FORBIDDEN, "forbidden\n")
        }
        _ => return simple(StatusCode::NOT_FOUND, "not found\n"),
    };
    let size = md.len();
    let validators = Validators::of(&md);
    let h = req.headers();
    let get = |name: header::HeaderName| h.get(name).and_then(|v| v.to_str().ok());
    let conditions = Conditions {
        if_match: get(header::IF_MATCH),
        if_none_match: get(header::IF_NONE_MATCH),
        if_modified_since: get(header::IF_MODIFIED_SINCE),
        if_unmodified_since: get(header::IF_UNMODIFIED_SINCE),
        if_range: get(header::IF_RANGE),
        range: get(header::RANGE),
    };
    let outcome = files::evaluate(&conditions, &validators, size, is_get);

    let mut resp = Response::new(FileBody::Bytes(None));
    let hs = resp.headers_mut();
    hs.insert(
        header::ETAG,
        HeaderValue::from_str(&validators.etag).expect("etag is ascii"),
    );
    hs.insert(
        header::LAST_MODIFIED,
        HeaderValue::from_str(&httpdate::fmt_http_date(validators.last_modified))
            .expect("http date is ascii"),
    );
    hs.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let (status, start, len) = match outcome {
        Outcome::NotModified => (StatusCode::NOT_MODIFIED, 0, None),
        Outcome::PreconditionFailed => (StatusCode::PRECONDITION_FAILED, 0, Some(0)),
        Outcome::RangeNotSatisfiable => {
            hs.insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{size}")).expect("ascii"),
            );
            (StatusCode::RANGE_NOT_SATISFIABLE, 0, Some(0))
        }
        Outcome::Full => {
            hs.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(files::content_type(&rel)),
            );
            (StatusCode::OK, 0, Some(size))
        }
        Outcome::Partial { start, end } => {
            hs.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(files::content_type(&rel)),
            );
            hs.insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes {start}-{end}/{size}")).expect("ascii"),
            );
            (StatusCode::PARTIAL_CONTENT, start, Some(end - start + 1))
        }
    };
    *resp.status_mut() = status;
    if let Some(len) = len {
        resp.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        let send_body =
            is_get && matches!(status, StatusCode::OK | StatusCode::PARTIAL_CONTENT) && len > 0;
        if send_body {
            *resp.body_mut() = FileBody::stream(file, start, len);
        }
    }
    resp
}

/// Response body: nothing, a static text, or a file region streamed by a
/// blocking reader thread through a small bounded channel (back-pressure: the
/// reader never runs more than a few chunks ahead of the socket).
pub(crate) enum FileBody {
    Bytes(Option<Bytes>),
    File {
        rx: mpsc::Receiver<io::Result<Bytes>>,
        remaining: u64,
    },
}

impl FileBody {
    fn stream(file: std::fs::File, start: u64, len: u64) -> FileBody {
        let (tx, rx) = mpsc::channel(4);
        tokio::task::spawn_blocking(move || {
            let mut offset = start;
            let end = start + len;
            while offset < end {
                let n = ((end - offset) as usize).min(CHUNK);
                let mut buf = vec![0u8; n];
                let chunk = match file.read_at(&mut buf, offset) {
                    Ok(0) => Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "file shrank while being served",
                    )),
                    Ok(got) => {
                        buf.truncate(got);
                        offset += got as u64;
                        Ok(Bytes::from(buf))
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => Err(e),
                };
                let failed = chunk.is_err();
                // A send error means the client went away.
                if tx.blocking_send(chunk).is_err() || failed {
                    return;
                }
            }
        });
        FileBody::File { rx, remaining: len }
    }
}

impl Body for FileBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match self.get_mut() {
            FileBody::Bytes(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            FileBody::File { rx, remaining } => match rx.poll_recv(cx) {
                Poll::Ready(Some(Ok(b))) => {
                    *remaining = remaining.saturating_sub(b.len() as u64);
                    Poll::Ready(Some(Ok(Frame::data(b))))
                }
                Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            FileBody::Bytes(b) => b.is_none(),
            FileBody::File { remaining, .. } => *remaining == 0,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            FileBody::Bytes(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            FileBody::File { remaining, .. } => SizeHint::with_exact(*remaining),
        }
    }
}
