//! The encoding every message of [`super`] shares: a kind byte, then fixed-size
//! little-endian numbers and length-prefixed byte strings, nothing else.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// What was wrong with a message that does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Problem {
    #[error("it is empty")]
    Empty,
    #[error("it ends early")]
    Truncated,
    #[error("unknown kind {0}")]
    UnknownKind(u8),
    #[error("{0} bytes after its end")]
    Trailing(usize),
    #[error("its text is not UTF-8")]
    NotUtf8,
    #[error("it came with {got} descriptors instead of {expected}")]
    Descriptors { expected: usize, got: usize },
    #[error("{0}")]
    Invalid(&'static str),
    #[error("it does not answer `{0}`")]
    NotAnAnswer(String),
    /// The peer speaks the monitor protocol of an lxu before versions (no mark).
    #[error("it carries no protocol version (an lxu from before versioned messages)")]
    Unversioned,
    /// The peer speaks another version of the monitor protocol.
    #[error("it is of protocol version {0}, not {ours}", ours = super::monitor::spoken())]
    Version(u8),
}

/// A message between lxu's own processes that does not decode: a bug, or the two sides
/// come from different builds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed {message}: {problem}")]
pub struct WireError {
    /// Which message, as [`Message::NAME`] says it.
    pub(crate) message: &'static str,
    pub(crate) problem: Problem,
}

/// One kind of message: how it is written and read.
pub(crate) trait Message: Sized {
    /// The message in an error, e.g. "request to the monitor".
    const NAME: &'static str;

    /// Writes the message, kind byte first.
    fn encode(&self, w: &mut Writer);

    /// Reads what [`Message::encode`] wrote; the caller checks that nothing follows.
    fn decode(r: &mut Reader<'_>) -> Result<Self, WireError>;

    /// How many descriptors travel with the message.
    fn fds(&self) -> usize {
        0
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::default();
        self.encode(&mut w);
        w.into_bytes()
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(Self::NAME, bytes);
        let m = Self::decode(&mut r)?;
        r.finish()?;
        Ok(m)
    }
}

/// Fixed-size little-endian numbers, written and read.
macro_rules! numbers {
    ($($t:ident),*) => {
        impl Writer {
            $(pub(crate) fn $t(&mut self, v: $t) -> &mut Self {
                self.buf.extend_from_slice(&v.to_le_bytes());
                self
            })*
        }

        impl Reader<'_> {
            $(pub(crate) fn $t(&mut self) -> Result<$t, WireError> {
                Ok($t::from_le_bytes(self.array()?))
            })*
        }
    };
}

numbers!(u16, u32, i32, i64, u64);

#[derive(Default)]
pub(crate) struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    pub(crate) fn kind(&mut self, k: u8) -> &mut Self {
        self.buf.push(k);
        self
    }

    pub(crate) fn bool(&mut self, v: bool) -> &mut Self {
        self.buf.push(u8::from(v));
        self
    }

    /// A length (of a list or a byte string); lxu's messages are far below 4 GiB.
    pub(crate) fn count(&mut self, n: usize) -> &mut Self {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX))
    }

    pub(crate) fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.count(b.len());
        self.buf.extend_from_slice(b);
        self
    }

    pub(crate) fn str(&mut self, s: &str) -> &mut Self {
        self.bytes(s.as_bytes())
    }

    pub(crate) fn path(&mut self, p: &Path) -> &mut Self {
        self.bytes(p.as_os_str().as_bytes())
    }

    pub(crate) fn opt_str(&mut self, s: Option<&str>) -> &mut Self {
        self.bool(s.is_some());
        if let Some(s) = s {
            self.str(s);
        }
        self
    }

    pub(crate) fn opt_ipv4(&mut self, a: Option<Ipv4Addr>) -> &mut Self {
        self.bool(a.is_some());
        if let Some(a) = a {
            self.buf.extend_from_slice(&a.octets());
        }
        self
    }

    pub(crate) fn opt_ipv6(&mut self, a: Option<Ipv6Addr>) -> &mut Self {
        self.bool(a.is_some());
        if let Some(a) = a {
            self.buf.extend_from_slice(&a.octets());
        }
        self
    }

    /// Unframed bytes up to the end of the message: only as the last field.
    pub(crate) fn rest(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        self
    }
}

pub(crate) struct Reader<'a> {
    message: &'static str,
    buf: &'a [u8],
    at_start: bool,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(message: &'static str, buf: &'a [u8]) -> Reader<'a> {
        Reader {
            message,
            buf,
            at_start: true,
        }
    }

    pub(crate) fn error(&self, problem: Problem) -> WireError {
        WireError {
            message: self.message,
            problem,
        }
    }

    pub(crate) fn unknown(&self, kind: u8) -> WireError {
        self.error(Problem::UnknownKind(kind))
    }

    pub(crate) fn invalid(&self, what: &'static str) -> WireError {
        self.error(Problem::Invalid(what))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.buf.len() < n {
            let p = if self.at_start && self.buf.is_empty() {
                Problem::Empty
            } else {
                Problem::Truncated
            };
            return Err(self.error(p));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        self.at_start = false;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    pub(crate) fn kind(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn bool(&mut self) -> Result<bool, WireError> {
        match self.take(1)?[0] {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(self.invalid("a flag is neither 0 nor 1")),
        }
    }

    /// A list length, checked against what is left (each item takes at least `min_item`
    /// bytes), so that a corrupt length cannot make the reader allocate much.
    pub(crate) fn count(&mut self, min_item: usize) -> Result<usize, WireError> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_item.max(1)) > self.buf.len() {
            return Err(self.error(Problem::Truncated));
        }
        Ok(n)
    }

    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], WireError> {
        let n = self.count(1)?;
        self.take(n)
    }

    pub(crate) fn str(&mut self) -> Result<&'a str, WireError> {
        let b = self.bytes()?;
        std::str::from_utf8(b).map_err(|_| self.error(Problem::NotUtf8))
    }

    pub(crate) fn string(&mut self) -> Result<String, WireError> {
        Ok(self.str()?.to_string())
    }

    pub(crate) fn path(&mut self) -> Result<PathBuf, WireError> {
        Ok(PathBuf::from(std::ffi::OsString::from_vec(
            self.bytes()?.to_vec(),
        )))
    }

    pub(crate) fn opt_string(&mut self) -> Result<Option<String>, WireError> {
        Ok(match self.bool()? {
            true => Some(self.string()?),
            false => None,
        })
    }

    pub(crate) fn opt_ipv4(&mut self) -> Result<Option<Ipv4Addr>, WireError> {
        Ok(match self.bool()? {
            true => Some(Ipv4Addr::from(self.array::<4>()?)),
            false => None,
        })
    }

    pub(crate) fn opt_ipv6(&mut self) -> Result<Option<Ipv6Addr>, WireError> {
        Ok(match self.bool()? {
            true => Some(Ipv6Addr::from(self.array::<16>()?)),
            false => None,
        })
    }

    /// Everything up to the end of the message.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }

    pub(crate) fn finish(self) -> Result<(), WireError> {
        match self.buf.len() {
            0 => Ok(()),
            n => Err(self.error(Problem::Trailing(n))),
        }
    }
}
