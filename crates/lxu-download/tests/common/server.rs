//! A small HTTP/1.1 server on 127.0.0.1 that can honour `Range`, cut connections,
//! lie about lengths and log what it was asked.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Request {
    /// The request target exactly as sent (double slashes included).
    pub target: String,
    pub range: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Default)]
struct State {
    log: Vec<Request>,
    /// Path suffix → (bytes to send before closing, how many more times).
    cuts: HashMap<String, (usize, usize)>,
    /// Path suffix → delay before answering.
    delays: HashMap<String, Duration>,
    ignore_range: bool,
    /// Path suffix → `Content-Length` to claim instead of the real one.
    claims: HashMap<String, u64>,
    /// Path suffixes sent with no `Content-Length` (the body ends when the
    /// connection closes).
    no_length: Vec<String>,
}

pub struct Server {
    pub addr: SocketAddr,
    root: PathBuf,
    state: Arc<Mutex<State>>,
}

impl Server {
    pub fn start(root: &Path) -> Server {
        Self::start_with(root, None)
    }

    /// HTTPS with this rustls config.
    pub fn start_tls(root: &Path, tls: Arc<rustls::ServerConfig>) -> Server {
        Self::start_with(root, Some(tls))
    }

    fn start_with(root: &Path, tls: Option<Arc<rustls::ServerConfig>>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let (r, s) = (root.to_path_buf(), state.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (r, s, tls) = (r.clone(), s.clone(), tls.clone());
                std::thread::spawn(move || {
                    let _ = match tls {
                        Some(cfg) => {
                            let Ok(tls) = rustls::ServerConnection::new(cfg) else {
                                return;
                            };
                            serve(rustls::StreamOwned::new(tls, conn), &r, &s)
                        }
                        None => serve(conn, &r, &s),
                    };
                });
            }
        });
        Server {
            addr,
            root: root.to_path_buf(),
            state,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn https_url(&self) -> String {
        format!("https://{}", self.addr)
    }

    pub fn log(&self) -> Vec<Request> {
        self.state.lock().unwrap().log.clone()
    }

    pub fn clear_log(&self) {
        self.state.lock().unwrap().log.clear();
    }

    /// Requests whose target ends with `suffix`.
    pub fn hits(&self, suffix: &str) -> Vec<Request> {
        self.log()
            .into_iter()
            .filter(|r| r.target.ends_with(suffix))
            .collect()
    }

    pub fn cut(&self, suffix: &str, after: usize, times: usize) {
        self.state
            .lock()
            .unwrap()
            .cuts
            .insert(suffix.into(), (after, times));
    }

    pub fn delay(&self, suffix: &str, d: Duration) {
        self.state.lock().unwrap().delays.insert(suffix.into(), d);
    }

    pub fn ignore_range(&self, v: bool) {
        self.state.lock().unwrap().ignore_range = v;
    }

    /// Announce `len` as the `Content-Length` of files ending with `suffix`.
    pub fn claim_length(&self, suffix: &str, len: u64) {
        self.state.lock().unwrap().claims.insert(suffix.into(), len);
    }

    /// Send files ending with `suffix` without a `Content-Length`.
    pub fn without_length(&self, suffix: &str) {
        self.state.lock().unwrap().no_length.push(suffix.into());
    }
}

fn serve<S: Read + Write>(mut conn: S, root: &Path, state: &Mutex<State>) -> std::io::Result<()> {
    let mut reader = BufReader::new(&mut conn);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut range = None;
    let mut ua = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            match k.trim().to_ascii_lowercase().as_str() {
                "range" => range = Some(v.trim().to_string()),
                "user-agent" => ua = Some(v.trim().to_string()),
                _ => {}
            }
        }
    }
    let (cut, delay, ignore_range, claim, no_length) = {
        let mut st = state.lock().unwrap();
        st.log.push(Request {
            target: target.clone(),
            range: range.clone(),
            user_agent: ua,
        });
        let mut cut = None;
        for (suffix, (after, times)) in st.cuts.iter_mut() {
            if target.ends_with(suffix.as_str()) && *times > 0 {
                *times -= 1;
                cut = Some(*after);
            }
        }
        let delay = st
            .delays
            .iter()
            .find(|(s, _)| target.ends_with(s.as_str()))
            .map(|(_, d)| *d);
        let claim = st
            .claims
            .iter()
            .find(|(s, _)| target.ends_with(s.as_str()))
            .map(|(_, n)| *n);
        let no_length = st.no_length.iter().any(|s| target.ends_with(s.as_str()));
        (cut, delay, st.ignore_range, claim, no_length)
    };
    drop(reader);
    if let Some(d) = delay {
        std::thread::sleep(d);
    }
    let mut out = conn;
    // Real servers accept the `//` LXC clients send.
    let mut norm = String::new();
    for c in target.split('/').filter(|c| !c.is_empty()) {
        if c == ".." {
            write!(
                out,
                "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )?;
            return out.flush();
        }
        norm.push('/');
        norm.push_str(c);
    }
    let path = root.join(norm.trim_start_matches('/'));
    let Ok(data) = std::fs::read(&path).and_then(|d| {
        if path.is_file() {
            Ok(d)
        } else {
            Err(std::io::ErrorKind::NotFound.into())
        }
    }) else {
        write!(
            out,
            "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found"
        )?;
        return out.flush();
    };
    let len = data.len();
    let start = range.filter(|_| !ignore_range).and_then(|r| {
        r.strip_prefix("bytes=")
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|n| n.parse::<usize>().ok())
    });
    let (status, body, extra) = match start {
        Some(s) if s >= len => {
            write!(
                out,
                "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{len}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )?;
            return out.flush();
        }
        Some(s) => (
            "206 Partial Content",
            &data[s..],
            format!("Content-Range: bytes {s}-{}/{len}\r\n", len - 1),
        ),
        None => ("200 OK", &data[..], String::new()),
    };
    let length = if no_length {
        String::new()
    } else {
        format!("Content-Length: {}\r\n", claim.unwrap_or(body.len() as u64))
    };
    write!(
        out,
        "HTTP/1.1 {status}\r\n{length}Accept-Ranges: bytes\r\n{extra}Connection: close\r\n\r\n"
    )?;
    match cut {
        Some(n) => {
            // Dropping the stream closes the connection mid-body.
            out.write_all(&body[..n.min(body.len())])?;
            out.flush()?;
        }
        None => {
            out.write_all(body)?;
            out.flush()?;
        }
    }
    Ok(())
}
