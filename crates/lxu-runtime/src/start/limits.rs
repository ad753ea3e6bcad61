//! `lxc.prlimit.*` and `lxc.sysctl.*`: resource limits and kernel parameters of the
//! container, applied by init before it executes.

use rustix::process::{Resource, Rlimit};

use crate::error::ContainerError;

/// `(resource, Rlimit)` from `lxc.prlimit.<name> = soft[:hard]` (numbers or `unlimited`).
pub(crate) fn parse_prlimit(name: &str, value: &str) -> Result<(Resource, Rlimit), ContainerError> {
    let res = match name {
        "as" => Resource::As,
        "core" => Resource::Core,
        "cpu" => Resource::Cpu,
        "data" => Resource::Data,
        "fsize" => Resource::Fsize,
        "locks" => Resource::Locks,
        "memlock" => Resource::Memlock,
        "msgqueue" => Resource::Msgqueue,
        "nice" => Resource::Nice,
        "nofile" => Resource::Nofile,
        "nproc" => Resource::Nproc,
        "rss" => Resource::Rss,
        "rtprio" => Resource::Rtprio,
        "rttime" => Resource::Rttime,
        "sigpending" => Resource::Sigpending,
        "stack" => Resource::Stack,
        other => {
            return Err(ContainerError::UnknownResource {
                name: other.to_string(),
            })
        }
    };
    let num = |s: &str| -> Result<Option<u64>, ContainerError> {
        match s.trim() {
            "unlimited" | "infinity" => Ok(None),
            n => n.parse().map(Some).map_err(|_| ContainerError::BadLimit {
                name: name.to_string(),
                value: value.to_string(),
            }),
        }
    };
    let (soft, hard) = match value.split_once(':') {
        Some((s, h)) => (num(s)?, num(h)?),
        None => {
            let v = num(value)?;
            (v, v)
        }
    };
    Ok((
        res,
        Rlimit {
            current: soft,
            maximum: hard,
        },
    ))
}

/// `/proc/sys/...` path of a sysctl name (`net.ipv4.ip_forward`).
pub(crate) fn sysctl_path(name: &str) -> Option<String> {
    let ok = !name.is_empty()
        && name.split('.').all(|p| {
            !p.is_empty()
                && p != ".."
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
        });
    ok.then(|| format!("proc/sys/{}", name.replace('.', "/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prlimits() {
        let (r, l) = parse_prlimit("nofile", "1024:4096").unwrap();
        assert_eq!(r, Resource::Nofile);
        assert_eq!((l.current, l.maximum), (Some(1024), Some(4096)));
        let (_, l) = parse_prlimit("core", "unlimited").unwrap();
        assert_eq!((l.current, l.maximum), (None, None));
        assert_eq!(
            parse_prlimit("bogus", "1").unwrap_err().to_string(),
            "lxc.prlimit.bogus: unknown resource"
        );
        assert!(parse_prlimit("nofile", "lots").is_err());
    }

    #[test]
    fn sysctls() {
        assert_eq!(
            sysctl_path("net.ipv4.ip_forward").as_deref(),
            Some("proc/sys/net/ipv4/ip_forward")
        );
        assert_eq!(sysctl_path("net..x"), None);
        assert_eq!(sysctl_path("../etc"), None);
    }
}
