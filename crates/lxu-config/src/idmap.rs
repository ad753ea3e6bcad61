//! `lxc.idmap`: the uid and gid ranges of a user namespace.

use std::fmt;

use crate::values::parse_u32;

/// uid or gid map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdKind {
    Uid,
    Gid,
}

/// One `lxc.idmap` line: `count` ids starting at `nsid` inside map to `hostid` outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdMap {
    pub kind: IdKind,
    pub nsid: u32,
    pub hostid: u32,
    pub count: u32,
}

impl IdMap {
    /// Parses `u 0 100000 65536`.
    pub(crate) fn parse(v: &str) -> Result<IdMap, String> {
        let mut it = v.split([' ', '\t', '\r']).filter(|w| !w.is_empty());
        let kind = match it.next() {
            Some("u") => IdKind::Uid,
            Some("g") => IdKind::Gid,
            Some(t) => return Err(format!("id map type must be `u` or `g`, not `{t}`")),
            None => return Err("empty id map".into()),
        };
        let mut num = |what: &str| -> Result<u32, String> {
            let w = it
                .next()
                .ok_or_else(|| format!("missing {what}; expected `u|g NSID HOSTID COUNT`"))?;
            parse_u32(w).ok_or_else(|| format!("{what} `{w}` is not an unsigned 32-bit number"))
        };
        let nsid = num("namespace id")?;
        let hostid = num("host id")?;
        let count = num("count")?;
        if let Some(extra) = it.next() {
            return Err(format!("trailing `{extra}` after the count"));
        }
        if count == 0 {
            return Err("count must be at least 1".into());
        }
        if u64::from(nsid) + u64::from(count) > 1 << 32
            || u64::from(hostid) + u64::from(count) > 1 << 32
        {
            return Err("range runs past 2^32".into());
        }
        Ok(IdMap {
            kind,
            nsid,
            hostid,
            count,
        })
    }
}

impl fmt::Display for IdMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = match self.kind {
            IdKind::Uid => 'u',
            IdKind::Gid => 'g',
        };
        write!(f, "{t} {} {} {}", self.nsid, self.hostid, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idmaps() {
        let m = IdMap::parse("u 0 100000 65536").unwrap();
        assert_eq!(
            m,
            IdMap {
                kind: IdKind::Uid,
                nsid: 0,
                hostid: 100000,
                count: 65536
            }
        );
        assert_eq!(m.to_string(), "u 0 100000 65536");
        assert_eq!(IdMap::parse("g\t0  1000 1").unwrap().kind, IdKind::Gid);
        for bad in [
            "x 0 1 1",
            "u 0 1",
            "u 0 1 1 1",
            "u -1 1 1",
            "u 0 1 0",
            "u a 1 1",
            "u 4294967295 0 2",
            "",
        ] {
            assert!(IdMap::parse(bad).is_err(), "{bad}");
        }
    }
}
