//! From the monitor to the `lxu start` that forked it (daemon mode), on a pipe: how the
//! start went (see [`super`]).

use std::io::Read;
use std::os::fd::OwnedFd;

use super::{Message, Reader, RemoteError, WireError, Writer};
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Report {
    /// Said once to the user who started the container; the start goes on.
    Warning(String),
    /// The container runs; init's pid.
    Started {
        pid: i32,
    },
    Failed(RemoteError),
}

impl Message for Report {
    const NAME: &'static str = "report from the monitor to lxu start";

    fn encode(&self, w: &mut Writer) {
        match self {
            Report::Warning(text) => {
                w.kind(1).str(text);
            }
            Report::Started { pid } => {
                w.kind(2).i32(*pid);
            }
            Report::Failed(e) => {
                w.kind(3);
                e.encode(w);
            }
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, WireError> {
        match r.kind()? {
            1 => Ok(Report::Warning(r.string()?)),
            2 => Ok(Report::Started { pid: r.i32()? }),
            3 => Ok(Report::Failed(RemoteError::decode(r)?)),
            k => Err(r.unknown(k)),
        }
    }
}

impl Report {
    /// The report framed by its length, for the pipe.
    pub(crate) fn framed(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.count(0);
        self.encode(&mut w);
        let mut bytes = w.into_bytes();
        let len = (bytes.len() - 4) as u32;
        bytes[..4].copy_from_slice(&len.to_le_bytes());
        bytes
    }

    /// Every report in `bytes`, as [`Report::framed`] framed them.
    pub(crate) fn parse_all(mut bytes: &[u8]) -> Result<Vec<Report>, WireError> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let mut r = Reader::new(Self::NAME, bytes);
            let len = r.count(1)?;
            let framed = r.rest();
            out.push(Report::from_bytes(&framed[..len])?);
            bytes = &framed[len..];
        }
        Ok(out)
    }
}

/// In `lxu start`: reads the monitor's reports until the pipe closes, prints the
/// warnings, and returns init's pid or why the start failed.
pub(crate) fn wait_started(pipe: OwnedFd, name: &str) -> Result<i32> {
    let mut bytes = Vec::new();
    let _ = std::fs::File::from(pipe).read_to_end(&mut bytes);
    for report in Report::parse_all(&bytes)? {
        match report {
            Report::Warning(w) => eprintln!("warning: {w}"),
            Report::Started { pid } => return Ok(pid),
            Report::Failed(e) => return Err(Error::Remote(e)),
        }
    }
    Err(Error::MonitorExited {
        name: name.to_string(),
    })
}
