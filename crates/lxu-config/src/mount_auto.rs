//! `lxc.mount.auto`: the file systems mounted for the container by category.

use std::fmt;

use crate::line::words;

/// `lxc.mount.auto` proc setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcMode {
    Mixed,
    Rw,
}

/// `lxc.mount.auto` sys setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SysMode {
    Mixed,
    Ro,
    Rw,
}

/// Access mode of an automatic cgroup mount; `Default` is the bare `cgroup`
/// token (rw with CAP_SYS_ADMIN kept, else mixed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupMode {
    Mixed,
    Ro,
    Rw,
    Default,
}

/// `cgroup[-full][:mode][:force]`, or a `cgroup2[:ro][:force]` token (always forced).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CgroupAuto {
    pub mode: CgroupMode,
    pub full: bool,
    pub force: bool,
}

/// Parsed `lxc.mount.auto`. `cgroup` and `cgroup2` share LXC's single cgroup
/// category, so at most one of them is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountAuto {
    pub proc: Option<ProcMode>,
    pub sys: Option<SysMode>,
    pub cgroup: Option<CgroupAuto>,
    pub cgroup2: Option<CgroupAuto>,
    /// `shmounts:HOST[:CONTAINER]` (container path defaults to `/dev/.lxc-mounts`).
    pub shmounts: Option<(String, String)>,
}

impl MountAuto {
    /// Applies one line of tokens; each token replaces its category.
    pub(crate) fn apply(&mut self, value: &str) -> Result<(), String> {
        for tok in words(value) {
            self.apply_token(tok)?;
        }
        Ok(())
    }

    fn apply_token(&mut self, tok: &str) -> Result<(), String> {
        let bad = || format!("invalid `lxc.mount.auto` token `{tok}`");
        match tok {
            "proc" | "proc:mixed" => self.proc = Some(ProcMode::Mixed),
            "proc:rw" => self.proc = Some(ProcMode::Rw),
            "sys" | "sys:mixed" => self.sys = Some(SysMode::Mixed),
            "sys:ro" => self.sys = Some(SysMode::Ro),
            "sys:rw" => self.sys = Some(SysMode::Rw),
            _ if tok.starts_with("shmounts:") => {
                let v = &tok["shmounts:".len()..];
                if v.is_empty() {
                    return Err(format!("`{tok}` needs a host path"));
                }
                let (host, cont) = match v.split_once(':') {
                    Some((h, c)) if !c.is_empty() => (h, c),
                    Some((h, _)) => (h, "/dev/.lxc-mounts"),
                    None => (v, "/dev/.lxc-mounts"),
                };
                self.shmounts = Some((host.to_string(), cont.to_string()));
            }
            "cgroup2" | "cgroup2:force" | "cgroup2:ro" | "cgroup2:ro:force" => {
                self.cgroup = None;
                self.cgroup2 = Some(CgroupAuto {
                    mode: if tok.starts_with("cgroup2:ro") {
                        CgroupMode::Ro
                    } else {
                        CgroupMode::Rw
                    },
                    full: false,
                    force: true,
                });
            }
            _ if tok.starts_with("cgroup2") => return Err(bad()),
            _ if tok.starts_with("cgroup") => {
                let (full, rest) = match tok.strip_prefix("cgroup-full") {
                    Some(r) => (true, r),
                    None => (false, &tok["cgroup".len()..]),
                };
                let (mode, force) = match rest {
                    "" => (CgroupMode::Default, false),
                    ":force" => (CgroupMode::Default, true),
                    ":mixed" => (CgroupMode::Mixed, false),
                    ":mixed:force" => (CgroupMode::Mixed, true),
                    ":ro" => (CgroupMode::Ro, false),
                    ":ro:force" => (CgroupMode::Ro, true),
                    ":rw" => (CgroupMode::Rw, false),
                    ":rw:force" => (CgroupMode::Rw, true),
                    _ => return Err(bad()),
                };
                self.cgroup2 = None;
                self.cgroup = Some(CgroupAuto { mode, full, force });
            }
            _ => return Err(bad()),
        }
        Ok(())
    }
}

impl fmt::Display for MountAuto {
    /// LXC's order (proc, sys, cgroup); re-parsing the output gives the same value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut toks: Vec<String> = Vec::new();
        match self.proc {
            Some(ProcMode::Mixed) => toks.push("proc:mixed".into()),
            Some(ProcMode::Rw) => toks.push("proc:rw".into()),
            None => {}
        }
        match self.sys {
            Some(SysMode::Mixed) => toks.push("sys:mixed".into()),
            Some(SysMode::Ro) => toks.push("sys:ro".into()),
            Some(SysMode::Rw) => toks.push("sys:rw".into()),
            None => {}
        }
        if let Some(c) = self.cgroup {
            let mut t = String::from(if c.full { "cgroup-full" } else { "cgroup" });
            match c.mode {
                CgroupMode::Mixed => t.push_str(":mixed"),
                CgroupMode::Ro => t.push_str(":ro"),
                CgroupMode::Rw => t.push_str(":rw"),
                CgroupMode::Default => {}
            }
            if c.force {
                t.push_str(":force");
            }
            toks.push(t);
        }
        if let Some(c) = self.cgroup2 {
            toks.push(
                if c.mode == CgroupMode::Ro {
                    "cgroup2:ro"
                } else {
                    "cgroup2"
                }
                .into(),
            );
        }
        if let Some((h, c)) = &self.shmounts {
            toks.push(format!("shmounts:{h}:{c}"));
        }
        f.write_str(&toks.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_auto_categories_replace() {
        let mut m = MountAuto::default();
        m.apply("cgroup:mixed proc:mixed sys:mixed").unwrap();
        m.apply("sys:rw").unwrap();
        assert_eq!(m.to_string(), "proc:mixed sys:rw cgroup:mixed");
        m.apply("cgroup2:ro").unwrap();
        assert_eq!(m.cgroup, None);
        assert_eq!(m.to_string(), "proc:mixed sys:rw cgroup2:ro");
        m.apply("cgroup-full:rw:force\tproc").unwrap();
        assert_eq!(m.cgroup2, None);
        assert_eq!(
            m.cgroup,
            Some(CgroupAuto {
                mode: CgroupMode::Rw,
                full: true,
                force: true
            })
        );
        for bad in [
            "cgroup:bogus",
            "proc:ro",
            "sys:",
            "cgroup2:rw",
            "foo",
            "shmounts:",
        ] {
            assert!(MountAuto::default().apply(bad).is_err(), "{bad}");
        }
        let mut m = MountAuto::default();
        m.apply("shmounts:/a").unwrap();
        assert_eq!(m.shmounts, Some(("/a".into(), "/dev/.lxc-mounts".into())));
    }

    #[test]
    fn mount_auto_display_reparses() {
        for v in [
            "proc sys cgroup",
            "cgroup:ro:force",
            "cgroup-full",
            "cgroup2",
            "proc:rw sys:ro",
        ] {
            let mut a = MountAuto::default();
            a.apply(v).unwrap();
            let mut b = MountAuto::default();
            b.apply(&a.to_string()).unwrap();
            assert_eq!(a, b, "{v}");
        }
    }
}
