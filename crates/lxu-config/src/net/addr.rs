//! Address syntaxes of network keys: MAC templates, IP addresses, routes.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::values::parse_u32;

/// Checks a MAC address template: six `:`-separated pairs of hex digits or `x`/`X`.
pub(crate) fn is_hwaddr_template(v: &str) -> bool {
    let parts: Vec<&str> = v.split(':').collect();
    parts.len() == 6
        && parts.iter().all(|p| {
            p.len() == 2
                && p.bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b'x' || b == b'X')
        })
}

/// LXC's `rand_complete_hwaddr`: every `x`/`X` becomes a random hex digit; at
/// index 1 (low nibble of the first octet) only even digits, so the address
/// never becomes multicast.
pub(crate) fn complete_hwaddr(v: &str, rng: &mut dyn FnMut() -> u8) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    v.bytes()
        .enumerate()
        .map(|(i, b)| {
            if b == b'x' || b == b'X' {
                let r = rng();
                let mask = if i == 1 { 0x0e } else { 0x0f };
                HEX[(r & mask) as usize] as char
            } else {
                b as char
            }
        })
        .collect()
}

/// `addr[/prefix][ broadcast]`.
pub(crate) fn check_ipv4_address(v: &str) -> Result<(), String> {
    let (addr, bcast) = match v.split_once(' ') {
        Some((a, b)) => (a, Some(b.trim())),
        None => (v, None),
    };
    check_address::<Ipv4Addr>(addr, "IPv4", 32)?;
    if let Some(b) = bcast {
        b.parse::<Ipv4Addr>()
            .map_err(|_| format!("broadcast `{b}` is not an IPv4 address"))?;
    }
    Ok(())
}

/// `addr[/prefix]`.
pub(crate) fn check_ipv6_address(v: &str) -> Result<(), String> {
    check_address::<Ipv6Addr>(v, "IPv6", 128)
}

/// `addr[/prefix]` of one IP version; `family` and `max` name it in errors.
fn check_address<A: FromStr>(v: &str, family: &str, max: u32) -> Result<(), String> {
    let (ip, prefix) = match v.split_once('/') {
        Some((i, p)) => (i, Some(p)),
        None => (v, None),
    };
    ip.parse::<A>()
        .map_err(|_| format!("`{ip}` is not an {family} address"))?;
    prefix.map_or(Ok(()), |p| check_prefix(p, max))
}

fn check_prefix(p: &str, max: u32) -> Result<(), String> {
    match parse_u32(p) {
        Some(n) if n <= max => Ok(()),
        _ => Err(format!("prefix `{p}` is not 0..{max}")),
    }
}

/// `addr/prefix` with a mandatory prefix (veth routes).
pub(crate) fn check_route(v: &str, v6: bool) -> Result<(), String> {
    let Some((ip, p)) = v.split_once('/') else {
        return Err("route needs `ADDRESS/PREFIX`".into());
    };
    check_prefix(p, if v6 { 128 } else { 32 })?;
    let ok = if v6 {
        ip.parse::<Ipv6Addr>().is_ok()
    } else {
        ip.parse::<Ipv4Addr>().is_ok()
    };
    if ok {
        Ok(())
    } else {
        Err(format!("`{ip}` is not an IP address"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hwaddr_templates() {
        assert!(is_hwaddr_template("00:16:3e:xx:xx:xx"));
        assert!(is_hwaddr_template("0X:16:3E:aB:xx:01"));
        for bad in [
            "00:16:3e:xx:xx",
            "00:16:3e:xx:xx:xg",
            "0016.3exx.xxxx",
            "00:16:3e:x:xx:xxx",
        ] {
            assert!(!is_hwaddr_template(bad), "{bad}");
        }
    }

    #[test]
    fn hwaddr_second_char_is_even() {
        // An rng that always returns 0xff would give `f` (odd) without the mask.
        let mut rng = || 0xffu8;
        assert_eq!(
            complete_hwaddr("xx:xx:xx:xx:xx:xx", &mut rng),
            "fe:ff:ff:ff:ff:ff"
        );
        let mut rng = || 0xffu8;
        assert_eq!(
            complete_hwaddr("00:16:3e:xx:Xx:xx", &mut rng),
            "00:16:3e:ff:ff:ff"
        );
        let mut n = 0u8;
        let mut counter = move || {
            n = n.wrapping_add(1);
            n
        };
        for _ in 0..64 {
            let mac = complete_hwaddr("xx:xx:xx:xx:xx:xx", &mut counter);
            let second = mac.as_bytes()[1];
            assert!(b"02468ace".contains(&second), "{mac}");
        }
    }

    #[test]
    fn addresses() {
        assert!(check_ipv4_address("10.0.3.5/24").is_ok());
        assert!(check_ipv4_address("10.0.3.5/24 10.0.3.255").is_ok());
        assert!(check_ipv4_address("10.0.3.5").is_ok());
        assert!(check_ipv4_address("10.0.3.5/33").is_err());
        assert!(check_ipv4_address("10.0.3/24").is_err());
        assert!(check_ipv6_address("fd00::5/64").is_ok());
        assert!(check_ipv6_address("fd00::5/129").is_err());
        assert!(check_route("10.0.0.0/8", false).is_ok());
        assert!(check_route("10.0.0.0", false).is_err());
    }
}
