//! `lxc-update-config -c FILE`: rewrite a 1.0/2.0 config with 2.1+ key names.

use crate::keys::{
    families, legacy_net_key, legacy_simple_key, LEGACY_NET_PREFIX, NET_PREFIX, REMOVED,
};
use crate::line::numbered_lines;

/// Storage prefixes a rootfs value may already carry.
const BACKENDS: &[&str] = &[
    "dir",
    "zfs",
    "lvm",
    "rbd",
    "btrfs",
    "overlay",
    "overlayfs",
    "loop",
    "nbd",
    "aufs",
];

/// What `lxc-update-config -c FILE` writes into FILE (the `.backup` copy is the
/// caller's job). Like the shell script it renames keys in place, also inside
/// comments (`#lxc.utsname = x` → `#lxc.uts.name = x`), keeps comments, blank
/// lines and spacing, numbers 1.0 network sections 0, 1, … in the order of
/// their `lxc.network.type` lines, prefixes `lxc.rootfs` values with the
/// `lxc.rootfs.backend` driver (default `dir:`) and drops `lxc.rootfs.backend`,
/// `lxc.pivotdir` and `lxc.kmsg` lines.
///
/// Where the script is buggy this follows its evident intent instead: keys are
/// only renamed at the start of a line (never inside values);
/// `lxc.network.N.ipv4`/`ipv6` become `….ipv4.address`/`….ipv6.address`;
/// `lxc.limit.<res>` becomes `lxc.prlimit.<res>`; a rootfs value that already
/// names a backend (`overlayfs:…`, `btrfs:…`) gets no second prefix and an
/// empty one none at all; commented-out `lxc.network.type` lines do not open
/// a section; an empty `lxc.network.type =` (1.0: drop all interfaces)
/// becomes `lxc.net =`; the driver comes from the last `lxc.rootfs.backend`
/// line anywhere rather than only from the file's last line.
pub fn update_config(text: &str) -> String {
    let driver = backend_driver(text);
    let mut idx: i64 = -1;
    let mut out = String::with_capacity(text.len() + 64);
    let mut first = true;
    for (_, line) in numbered_lines(text) {
        let Some(new) = convert_line(line, &driver, &mut idx) else {
            continue;
        };
        if !first {
            out.push('\n');
        }
        first = false;
        out.push_str(&new);
    }
    if text.ends_with('\n') && !first {
        out.push('\n');
    }
    out
}

/// Splits `  #  lxc.key = v` into (`  #  `, `lxc.key`, ` = v`).
fn split_key(line: &str) -> Option<(&str, &str, &str)> {
    let body = line.trim_start_matches([' ', '\t', '#']);
    let lead = &line[..line.len() - body.len()];
    if !body.starts_with("lxc.") {
        return None;
    }
    let end = body.find([' ', '\t', '='])?;
    Some((lead, &body[..end], &body[end..]))
}

/// The value part of ` = value`, split into (`  = `, `value`); `None` if the
/// rest does not consist of blanks, `=`, blanks and a value.
fn split_assignment(rest: &str) -> Option<(&str, &str)> {
    let eq = rest.find('=')?;
    if !rest[..eq].bytes().all(|b| b == b' ' || b == b'\t') {
        return None;
    }
    let after = &rest[eq + 1..];
    let value = after.trim_start_matches([' ', '\t']);
    Some((&rest[..rest.len() - value.len()], value))
}

fn backend_driver(text: &str) -> String {
    let mut driver = String::from("dir");
    for (_, line) in numbered_lines(text) {
        if let Some((lead, "lxc.rootfs.backend", rest)) = split_key(line) {
            if lead.contains('#') {
                continue;
            }
            if let Some((_, v)) = split_assignment(rest) {
                let word: String = v
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect();
                if !word.is_empty() {
                    driver = word;
                }
            }
        }
    }
    driver
}

fn convert_line(line: &str, driver: &str, idx: &mut i64) -> Option<String> {
    let Some((lead, key, rest)) = split_key(line) else {
        return Some(line.to_string());
    };
    if REMOVED.contains(&key) {
        return None;
    }
    if let Some(def) = legacy_simple_key(key) {
        let new = def.name;
        if new != "lxc.rootfs.path" {
            return Some(format!("{lead}{new}{rest}"));
        }
        let Some((op, value)) = split_assignment(rest) else {
            return Some(line.to_string());
        };
        let value_new = rootfs_value(value, driver);
        return Some(format!("{lead}{new}{op}{value_new}"));
    }
    if let Some(new) = renamed_family_key(key) {
        return Some(format!("{lead}{new}{rest}"));
    }
    match key.strip_prefix(LEGACY_NET_PREFIX) {
        Some("") => Some(format!("{lead}{NET_PREFIX}{rest}")),
        Some(tail) => match tail.strip_prefix('.') {
            Some(tail) => Some(convert_net_key(lead, tail, rest, idx)),
            None => Some(line.to_string()),
        },
        None => Some(line.to_string()),
    }
}

/// `lxc.limit` → `lxc.prlimit`, `lxc.limit.<res>` → `lxc.prlimit.<res>`.
fn renamed_family_key(key: &str) -> Option<String> {
    families().find_map(|f| {
        let rest = key.strip_prefix(f.legacy?)?;
        if rest.is_empty() || rest.starts_with('.') {
            Some(format!("{}{rest}", f.prefix))
        } else {
            None
        }
    })
}

/// `lxc.network.<tail>`: numbered like the evaluator numbers 1.0 sections.
fn convert_net_key(lead: &str, tail: &str, rest: &str, idx: &mut i64) -> String {
    let sub_new = |sub: &str| legacy_net_key(sub).map_or(sub, |k| k.name).to_string();
    if tail.starts_with(|c: char| c.is_ascii_digit()) {
        return match tail.split_once('.') {
            Some((n, sub)) => format!("{lead}{NET_PREFIX}.{n}.{}{rest}", sub_new(sub)),
            None => format!("{lead}{NET_PREFIX}.{tail}{rest}"),
        };
    }
    if tail == "type" && !lead.contains('#') {
        let empty = split_assignment(rest).is_some_and(|(_, v)| v.trim().is_empty());
        if empty {
            return format!("{lead}{NET_PREFIX}{rest}");
        }
        *idx += 1;
    }
    let n = (*idx).max(0);
    format!("{lead}{NET_PREFIX}.{n}.{}{rest}", sub_new(tail))
}

fn rootfs_value(value: &str, driver: &str) -> String {
    let (quote, inner) = match value.chars().next() {
        Some(q @ ('"' | '\'')) => (Some(q), &value[1..]),
        _ => (None, value),
    };
    if inner
        .trim_end_matches([' ', '\t', '\r', '"', '\''])
        .is_empty()
    {
        return value.to_string();
    }
    let has_backend = inner
        .split_once(':')
        .is_some_and(|(p, _)| BACKENDS.contains(&p));
    if has_backend {
        return value.to_string();
    }
    match quote {
        Some(q) => format!("{q}{driver}:{inner}"),
        None => format!("{driver}:{value}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_old_simple_key() {
        let simple = crate::keys::simple_keys()
            .filter(|k| k.name != "lxc.rootfs.path")
            .filter_map(|k| Some((k.legacy?, k.name)));
        let family = families().filter_map(|f| Some((f.legacy?, f.prefix)));
        let renames: Vec<_> = simple.chain(family).collect();
        // LXC 5.0.2's `lxc-update-config` has 20 renames plus `lxc.rootfs`.
        assert_eq!(renames.len(), 21);
        for (old, new) in renames {
            let line = format!("{old} = v\n");
            assert_eq!(update_config(&line), format!("{new} = v\n"), "{old}");
            let tight = format!("{old}=v");
            assert_eq!(update_config(&tight), format!("{new}=v"), "{old}");
        }
    }

    #[test]
    fn does_not_touch_longer_keys_or_values() {
        let t = "lxc.tty.max = 4\nlxc.mount.entry = a b none bind 0 0\nlxc.console.logfile = /x\nlxc.rootfs.mount = /m\nlxc.hook.start = /bin/lxc.tty x\n";
        assert_eq!(update_config(t), t);
    }

    #[test]
    fn rootfs_gets_driver() {
        assert_eq!(
            update_config("lxc.rootfs = /var/lib/lxc/c1/rootfs\n"),
            "lxc.rootfs.path = dir:/var/lib/lxc/c1/rootfs\n"
        );
        assert_eq!(
            update_config("lxc.rootfs = /a\nlxc.rootfs.backend = btrfs\n"),
            "lxc.rootfs.path = btrfs:/a\n"
        );
        assert_eq!(
            update_config("lxc.rootfs = overlayfs:/a:/b\n"),
            "lxc.rootfs.path = overlayfs:/a:/b\n"
        );
        assert_eq!(
            update_config("lxc.rootfs = \"/a b\"\n"),
            "lxc.rootfs.path = \"dir:/a b\"\n"
        );
        assert_eq!(update_config("lxc.rootfs =\n"), "lxc.rootfs.path =\n");
    }

    #[test]
    fn drops_removed_keys() {
        assert_eq!(
            update_config("a\nlxc.pivotdir = lxc_putold\n#lxc.kmsg = 0\nb"),
            "a\nb"
        );
    }

    #[test]
    fn network_sections() {
        let t = "\
lxc.network.type = veth
lxc.network.flags = up
lxc.network.link = lxcbr0
lxc.network.ipv4 = 10.0.3.5/24 10.0.3.255
lxc.network.ipv4.gateway = auto
lxc.network.type = empty
# lxc.network.type = veth
#lxc.network.link = br1
lxc.network.0.ipv6 = fd00::1/64
lxc.network =
";
        let want = "\
lxc.net.0.type = veth
lxc.net.0.flags = up
lxc.net.0.link = lxcbr0
lxc.net.0.ipv4.address = 10.0.3.5/24 10.0.3.255
lxc.net.0.ipv4.gateway = auto
lxc.net.1.type = empty
# lxc.net.1.type = veth
#lxc.net.1.link = br1
lxc.net.0.ipv6.address = fd00::1/64
lxc.net =
";
        assert_eq!(update_config(t), want);
    }

    #[test]
    fn keeps_comments_and_spacing() {
        let t = "# header\n\n  lxc.utsname   =   c1  \n#lxc.aa_profile = unconfined\nfoo = bar";
        assert_eq!(
            update_config(t),
            "# header\n\n  lxc.uts.name   =   c1  \n#lxc.apparmor.profile = unconfined\nfoo = bar"
        );
    }

    #[test]
    fn idempotent_on_new_files() {
        let t = "lxc.net.0.type = veth\nlxc.rootfs.path = dir:/x\nlxc.idmap = u 0 1 1\n";
        assert_eq!(update_config(t), t);
        assert_eq!(update_config(&update_config(t)), t);
    }
}
