//! How `lxc-download` rewrites the container config lxc-create wrote before it:
//! network lines moved last, the image's config as
//! "Distribution configuration", remaining `lxc.` lines as "Container specific
//! configuration" ending with the uts name, then placeholder substitution.

use crate::templates::TemplateVars;

/// Which generation of LXC key names to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStyle {
    /// LXC 2.1+: `lxc.net.0.*`, `lxc.uts.name`, `lxc.mount.fstab`.
    Modern,
    /// LXC 1.0–2.0: `lxc.network.*`, `lxc.utsname`, `lxc.mount`.
    Legacy,
}

/// `grep PATTERN` where the pattern is literal text except that `.` matches any
/// character, matched anywhere in the line (what sed's `/lxc.net.0/` does).
fn dotted_match(line: &str, pattern: &str) -> bool {
    let l = line.as_bytes();
    let p = pattern.as_bytes();
    if p.len() > l.len() {
        return false;
    }
    (0..=l.len() - p.len()).any(|i| {
        p.iter()
            .zip(&l[i..])
            .all(|(pc, lc)| *pc == b'.' || pc == lc)
    })
}

/// The assembled config text. `existing` is what lxc-create wrote (default config
/// plus rootfs line); `image_config` is the image's `relevant_file config`; `fstab`
/// is the container's fstab path when the image ships one.
pub fn assemble_config(
    existing: &str,
    image_config: &str,
    vars: &TemplateVars,
    style: KeyStyle,
    fstab: Option<&str>,
) -> String {
    let net_pattern = match style {
        KeyStyle::Modern => "lxc.net.0",
        KeyStyle::Legacy => "lxc.network",
    };
    let mut kept = Vec::new();
    let mut network = Vec::new();
    let mut specific = Vec::new();
    for line in existing.lines() {
        if dotted_match(line, net_pattern) {
            network.push(line);
        } else if dotted_match(line, "lxc.") {
            specific.push(line);
        } else {
            kept.push(line);
        }
    }
    let mut out = String::new();
    for l in kept {
        out.push_str(l);
        out.push('\n');
    }
    out.push_str("\n# Distribution configuration\n");
    out.push_str(image_config);
    if !image_config.is_empty() && !image_config.ends_with('\n') {
        out.push('\n');
    }
    out.push_str("\n# Container specific configuration\n");
    for l in specific {
        out.push_str(l);
        out.push('\n');
    }
    if let Some(f) = fstab {
        let key = match style {
            KeyStyle::Modern => "lxc.mount.fstab",
            KeyStyle::Legacy => "lxc.mount",
        };
        out.push_str(&format!("{key} = {f}\n"));
    }
    let uts = match style {
        KeyStyle::Modern => "lxc.uts.name",
        KeyStyle::Legacy => "lxc.utsname",
    };
    out.push_str(&format!("{uts} = {}\n", vars.name));
    if !network.is_empty() {
        out.push_str("\n# Network configuration\n");
        for l in network {
            out.push_str(l);
            out.push('\n');
        }
    }
    vars.apply(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> TemplateVars {
        TemplateVars {
            name: "c1".into(),
            path: "/home/u/.local/share/lxc/c1".into(),
            rootfs: "/home/u/.local/share/lxc/c1/rootfs".into(),
            template_config: "/opt/lxu/share/lxc/config".into(),
            hook_dir: "/opt/lxu/share/lxc/hooks".into(),
        }
    }

    #[test]
    fn modern_layout() {
        let existing = "\
lxc.include = /etc/lxc/default.conf
lxc.net.0.type = veth
lxc.net.0.link = lxcbr0
lxc.net.1.type = empty
lxc.idmap = u 0 100000 65536
lxc.idmap = g 0 100000 65536
# keep me
lxc.rootfs.path = dir:/home/u/.local/share/lxc/c1/rootfs
";
        let image = "lxc.include = LXC_TEMPLATE_CONFIG/common.conf\nlxc.include = LXC_TEMPLATE_CONFIG/userns.conf\nlxc.arch = x86_64\n";
        let got = assemble_config(existing, image, &vars(), KeyStyle::Modern, None);
        assert_eq!(
            got,
            "\
# keep me

# Distribution configuration
lxc.include = /opt/lxu/share/lxc/config/common.conf
lxc.include = /opt/lxu/share/lxc/config/userns.conf
lxc.arch = x86_64

# Container specific configuration
lxc.include = /etc/lxc/default.conf
lxc.net.1.type = empty
lxc.idmap = u 0 100000 65536
lxc.idmap = g 0 100000 65536
lxc.rootfs.path = dir:/home/u/.local/share/lxc/c1/rootfs
lxc.uts.name = c1

# Network configuration
lxc.net.0.type = veth
lxc.net.0.link = lxcbr0
"
        );
    }

    #[test]
    fn legacy_layout_with_fstab_and_no_network() {
        let existing = "lxc.network.type = veth\nlxc.rootfs = /x/rootfs\n";
        let got = assemble_config(
            existing,
            "lxc.arch = x86_64",
            &vars(),
            KeyStyle::Legacy,
            Some("LXC_PATH/fstab"),
        );
        assert_eq!(
            got,
            "\n# Distribution configuration\nlxc.arch = x86_64\n\n# Container specific configuration\n\
             lxc.rootfs = /x/rootfs\nlxc.mount = /home/u/.local/share/lxc/c1/fstab\nlxc.utsname = c1\n\n\
             # Network configuration\nlxc.network.type = veth\n"
        );
        let none = assemble_config("", "", &vars(), KeyStyle::Modern, None);
        assert!(!none.contains("# Network configuration"));
        assert!(none.ends_with("lxc.uts.name = c1\n"));
    }

    #[test]
    fn dot_is_a_wildcard() {
        assert!(dotted_match("lxcXnetY0.type", "lxc.net.0"));
        assert!(!dotted_match("lxc.net.10.type", "lxc.net.0"));
        assert!(dotted_match("# lxc.foo", "lxc."));
        assert!(!dotted_match("lx", "lxc."));
    }
}
