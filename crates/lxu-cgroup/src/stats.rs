//! Usage figures of a container, from v1 controller files or their v2 peers.

use std::path::PathBuf;

use crate::container::ContainerCgroup;
use crate::{fsutil, CgroupError};

/// A limit as the kernel reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Unlimited,
    Value(u64),
}

/// Usage of a container. `None` means the controller is not available to it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub memory_bytes: Option<u64>,
    pub memory_limit: Option<Limit>,
    /// Kernel memory (v1 `memory.kmem.usage_in_bytes`, v2 `kernel` of memory.stat).
    pub kmem_bytes: Option<u64>,
    pub cpu_ns: Option<u64>,
    pub pids: Option<u64>,
    pub pids_limit: Option<Limit>,
    /// Bytes read plus written on block devices.
    pub blkio_bytes: Option<u64>,
}

/// v1 reports "no limit" as the largest page-aligned counter (2^63 - 4096 on
/// 4 KiB pages); anything from 2^62 up is treated as unlimited.
const V1_UNLIMITED_FROM: u64 = 1 << 62;

pub(crate) fn parse_limit(s: &str) -> Option<Limit> {
    let s = s.trim();
    if s == "max" || s == "-1" {
        return Some(Limit::Unlimited);
    }
    let v: u64 = s.parse().ok()?;
    Some(if v >= V1_UNLIMITED_FROM {
        Limit::Unlimited
    } else {
        Limit::Value(v)
    })
}

/// `key value` lines (cpu.stat, memory.stat).
pub(crate) fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let mut it = l.split_whitespace();
        (it.next()? == key).then(|| it.next()?.parse().ok())?
    })
}

/// v1 blkio `io_service_bytes`: the final `Total N` line, else Read + Write.
pub(crate) fn parse_v1_blkio(text: &str) -> Option<u64> {
    let mut total = None;
    let mut rw = 0u64;
    let mut any = false;
    for l in text.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        match f.as_slice() {
            ["Total", n] => total = n.parse().ok(),
            [_, "Read" | "Write", n] => {
                rw = rw.saturating_add(n.parse().unwrap_or(0));
                any = true;
            }
            _ => {}
        }
    }
    total.or(any.then_some(rw))
}

/// v2 io.stat: sum of rbytes and wbytes over devices.
pub(crate) fn parse_io_stat(text: &str) -> u64 {
    text.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, _)| *k == "rbytes" || *k == "wbytes")
        .filter_map(|(_, v)| v.parse::<u64>().ok())
        .fold(0, u64::saturating_add)
}

impl ContainerCgroup {
    fn v1_file(&self, controller: &str, file: &str) -> Option<PathBuf> {
        self.v1
            .iter()
            .find(|p| p.has(controller))
            .map(|p| p.path.join(file))
    }

    fn v2_file(&self, file: &str) -> Option<PathBuf> {
        self.v2.as_ref().map(|p| p.path.join(file))
    }

    /// Reads the first of the candidates that exists.
    fn first_text(&self, candidates: &[Option<PathBuf>]) -> Result<Option<String>, CgroupError> {
        for p in candidates.iter().flatten() {
            if let Some(t) = fsutil::read_opt(p)? {
                return Ok(Some(t));
            }
        }
        Ok(None)
    }

    pub fn stats(&self) -> Result<Stats, CgroupError> {
        let num = |t: Option<String>| t.and_then(|s| s.trim().parse::<u64>().ok());
        let mut s = Stats {
            memory_bytes: num(self.first_text(&[
                self.v1_file("memory", "memory.usage_in_bytes"),
                self.v2_file("memory.current"),
            ])?),
            memory_limit: self
                .first_text(&[
                    self.v1_file("memory", "memory.limit_in_bytes"),
                    self.v2_file("memory.max"),
                ])?
                .and_then(|t| parse_limit(&t)),
            pids: num(self.first_text(&[
                self.v1_file("pids", "pids.current"),
                self.v2_file("pids.current"),
            ])?),
            pids_limit: self
                .first_text(&[self.v1_file("pids", "pids.max"), self.v2_file("pids.max")])?
                .and_then(|t| parse_limit(&t)),
            ..Stats::default()
        };
        s.kmem_bytes =
            match self.first_text(&[self.v1_file("memory", "memory.kmem.usage_in_bytes")])? {
                Some(t) => num(Some(t)),
                None => self
                    .first_text(&[self.v2_file("memory.stat")])?
                    .and_then(|t| keyed(&t, "kernel")),
            };
        s.cpu_ns = match self.first_text(&[self.v1_file("cpuacct", "cpuacct.usage")])? {
            Some(t) => num(Some(t)),
            None => self
                .first_text(&[self.v2_file("cpu.stat")])?
                .and_then(|t| keyed(&t, "usage_usec"))
                .map(|us| us.saturating_mul(1000)),
        };
        s.blkio_bytes = match self.first_text(&[
            self.v1_file("blkio", "blkio.throttle.io_service_bytes_recursive"),
            self.v1_file("blkio", "blkio.throttle.io_service_bytes"),
        ])? {
            Some(t) => parse_v1_blkio(&t),
            None => self
                .first_text(&[self.v2_file("io.stat")])?
                .map(|t| parse_io_stat(&t)),
        };
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert_eq!(parse_limit("max\n"), Some(Limit::Unlimited));
        assert_eq!(parse_limit("9223372036854771712"), Some(Limit::Unlimited));
        assert_eq!(parse_limit("67108864\n"), Some(Limit::Value(67_108_864)));
        assert_eq!(parse_limit("x"), None);
    }

    #[test]
    fn blkio_and_io_stat() {
        let v1 = "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Total 12288\nTotal 12288\n";
        assert_eq!(parse_v1_blkio(v1), Some(12288));
        assert_eq!(parse_v1_blkio("8:0 Read 1\n8:16 Write 2\n"), Some(3));
        assert_eq!(parse_v1_blkio(""), None);
        let v2 = "8:0 rbytes=100 wbytes=20 rios=1 wios=1 dbytes=7 dios=1\n\
                  8:16 rbytes=1 wbytes=2 rios=1 wios=1 dbytes=0 dios=0\n";
        assert_eq!(parse_io_stat(v2), 123);
    }

    #[test]
    fn keyed_files() {
        let t = "usage_usec 1234\nuser_usec 1000\nsystem_usec 234\n";
        assert_eq!(keyed(t, "usage_usec"), Some(1234));
        assert_eq!(keyed(t, "usage"), None);
    }
}
