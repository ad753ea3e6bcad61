//! Interface name rules and generated names.

/// Longest interface name the kernel accepts (IFNAMSIZ - 1).
pub const IFNAME_MAX: usize = 15;

/// The kernel's `dev_valid_name` rules, plus no `:` (our helper prints
/// `:`-separated output and the kernel refuses it anyway) and printable ASCII
/// only, so a name can never smuggle whitespace or control characters into a
/// whitespace-separated file such as the nics database.
pub fn is_valid(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= IFNAME_MAX
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'/' && b != b':')
}

/// Like [`is_valid`], but also allows one `%d` for kernel-picked names
/// (`eth%d`).
pub fn is_valid_template(name: &str) -> bool {
    is_valid(name) && name.matches('%').count() <= 1 && (!name.contains('%') || name.contains("%d"))
}

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// `n` random lowercase alphanumerics from the kernel's CSPRNG.
pub(crate) fn random_suffix(n: usize) -> std::io::Result<String> {
    let mut bytes = vec![0u8; n];
    fill_random(&mut bytes)?;
    // 256 % 36 != 0 gives a slight bias; irrelevant for collision avoidance.
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect())
}

/// Host-side veth name for `uid`, as LXC picks it: `veth<uid>_XXXX` while
/// that fits (with the `p` peer suffix) in 15 bytes, else `vethXXXXXX`.
pub fn host_veth_name(uid: u32) -> std::io::Result<String> {
    let short = format!("veth{uid}_");
    if (1..=65536).contains(&uid) && short.len() + 4 < IFNAME_MAX {
        Ok(format!("{short}{}", random_suffix(4)?))
    } else {
        Ok(format!("veth{}", random_suffix(6)?))
    }
}

/// A random locally administered unicast MAC. `first` replaces the first
/// byte when given (the host end of a veth uses 0xfe so a bridge, which takes
/// the lowest MAC of its ports, keeps the host's address).
pub fn random_mac(first: Option<u8>) -> std::io::Result<[u8; 6]> {
    let mut mac = [0u8; 6];
    fill_random(&mut mac)?;
    mac[0] = match first {
        Some(b) => b,
        None => (mac[0] & 0xfe) | 0x02,
    };
    Ok(mac)
}

fn fill_random(buf: &mut [u8]) -> std::io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        done += rustix::rand::getrandom(&mut buf[done..], rustix::rand::GetRandomFlags::empty())?;
    }
    Ok(())
}

/// `aa:bb:cc:dd:ee:ff`
pub(crate) fn format_mac(mac: &[u8]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names() {
        assert!(is_valid("eth0"));
        assert!(is_valid("veth65536_abcd"));
        assert!(is_valid("veth65536_abcdp"));
        assert!(!is_valid("veth65536_abcdpq"));
        for bad in ["", ".", "..", "a/b", "a b", "a\tb", "a\nb", "a:b", "é"] {
            assert!(!is_valid(bad), "{bad:?} accepted");
        }
        assert!(is_valid_template("eth%d"));
        assert!(!is_valid_template("eth%s"));
        assert!(!is_valid_template("e%d%d"));
    }

    #[test]
    fn host_names_fit_with_peer_suffix() {
        for uid in [1, 1000, 65536, 65537, 4_000_000_000] {
            let n = host_veth_name(uid).unwrap();
            assert!(is_valid(&format!("{n}p")), "{n}");
            if uid <= 65536 {
                assert!(n.starts_with(&format!("veth{uid}_")), "{n}");
            } else {
                assert_eq!(n.len(), 10, "{n}");
            }
        }
        assert_ne!(host_veth_name(1000).unwrap(), host_veth_name(1000).unwrap());
    }

    #[test]
    fn macs() {
        let m = random_mac(Some(0xfe)).unwrap();
        assert_eq!(m[0], 0xfe);
        let m = random_mac(None).unwrap();
        assert_eq!(m[0] & 0x03, 0x02, "locally administered unicast");
        assert_eq!(
            format_mac(&[0, 0x16, 0x3e, 0xab, 0x0c, 0xff]),
            "00:16:3e:ab:0c:ff"
        );
    }
}
