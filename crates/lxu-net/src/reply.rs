//! What `lxu-user-nic create` prints on success, one line on stdout, in the format of
//! LXC's `lxc-user-nic`: `<container ifname>:<container ifindex>:<host ifname>:<host
//! ifindex>` (interface names cannot contain `:`). The helper writes it with
//! [`NicCreated`]'s `Display` and lxu's monitor reads it with its `FromStr`.

use std::fmt;
use std::str::FromStr;

/// A veth pair the helper made: one end in the container's network namespace, the other
/// on the host's bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NicCreated {
    pub container_name: String,
    pub container_index: u32,
    pub host_name: String,
    pub host_index: u32,
}

/// A line that is not what [`NicCreated`] prints.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed reply of lxu-user-nic create `{line}`: {problem}")]
pub struct ReplyError {
    pub line: String,
    pub problem: &'static str,
}

impl fmt::Display for NicCreated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}:{}",
            self.container_name, self.container_index, self.host_name, self.host_index
        )
    }
}

impl FromStr for NicCreated {
    type Err = ReplyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let line = s.trim();
        let bad = |problem| ReplyError {
            line: line.to_string(),
            problem,
        };
        let f: Vec<&str> = line.split(':').collect();
        let [cname, cindex, hname, hindex] = f[..] else {
            return Err(bad("expected 4 fields separated by `:`"));
        };
        if cname.is_empty() || hname.is_empty() {
            return Err(bad("an interface name is empty"));
        }
        let index = |s: &str| {
            s.parse::<u32>()
                .map_err(|_| bad("an index is not a number"))
        };
        Ok(NicCreated {
            container_name: cname.to_string(),
            container_index: index(cindex)?,
            host_name: hname.to_string(),
            host_index: index(hindex)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_round_trips() {
        let n = NicCreated {
            container_name: "eth0".into(),
            container_index: 2,
            host_name: "vethAB12CD".into(),
            host_index: 17,
        };
        assert_eq!(n.to_string(), "eth0:2:vethAB12CD:17");
        assert_eq!("eth0:2:vethAB12CD:17\n".parse::<NicCreated>(), Ok(n));
    }

    #[test]
    fn malformed_lines_say_what_is_wrong() {
        let e = "eth0:2:veth1".parse::<NicCreated>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "malformed reply of lxu-user-nic create `eth0:2:veth1`: expected 4 fields separated by `:`"
        );
        let e = "eth0:x:veth1:3".parse::<NicCreated>().unwrap_err();
        assert_eq!(e.problem, "an index is not a number");
        let e = ":2:veth1:3".parse::<NicCreated>().unwrap_err();
        assert_eq!(e.problem, "an interface name is empty");
        assert!("".parse::<NicCreated>().is_err());
    }
}
