//! The options column of an fstab line (`lxc.mount.entry`), split into mount(2) flags,
//! propagation, filesystem data and LXC's own options.

use rustix::mount::{MountFlags, MountPropagationFlags};

/// What an `lxc.mount.entry` options field asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    pub flags: MountFlags,
    pub clear: MountFlags,
    pub propagation: Option<(MountPropagationFlags, bool)>,
    pub data: Vec<String>,
    pub bind: bool,
    pub recursive: bool,
    pub optional: bool,
    pub create_dir: bool,
    pub create_file: bool,
    pub relative: bool,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            flags: MountFlags::empty(),
            clear: MountFlags::empty(),
            propagation: None,
            data: Vec::new(),
            bind: false,
            recursive: false,
            optional: false,
            create_dir: false,
            create_file: false,
            relative: false,
        }
    }
}

impl MountOptions {
    pub fn data_string(&self) -> String {
        self.data.join(",")
    }
}

/// Parses the comma-separated words (already split by the config parser, or not).
pub fn parse<S: AsRef<str>>(words: &[S]) -> MountOptions {
    let mut o = MountOptions::default();
    for w in words.iter().flat_map(|w| w.as_ref().split(',')) {
        let w = w.trim();
        let set = |o: &mut MountOptions, f: MountFlags| {
            o.flags |= f;
            o.clear.remove(f);
        };
        let unset = |o: &mut MountOptions, f: MountFlags| {
            o.flags.remove(f);
            o.clear |= f;
        };
        match w {
            "" | "defaults" | "rw" | "async" | "loud" | "auto" | "noauto" | "user" | "nouser" => {
                if w == "rw" {
                    unset(&mut o, MountFlags::RDONLY);
                }
            }
            "ro" => set(&mut o, MountFlags::RDONLY),
            "nosuid" => set(&mut o, MountFlags::NOSUID),
            "suid" => unset(&mut o, MountFlags::NOSUID),
            "nodev" => set(&mut o, MountFlags::NODEV),
            "dev" => unset(&mut o, MountFlags::NODEV),
            "noexec" => set(&mut o, MountFlags::NOEXEC),
            "exec" => unset(&mut o, MountFlags::NOEXEC),
            "sync" => set(&mut o, MountFlags::SYNCHRONOUS),
            "dirsync" => set(&mut o, MountFlags::DIRSYNC),
            // Mandatory locking is gone from Linux (5.15); accept and ignore the words.
            "mand" | "nomand" => {}
            "noatime" => set(&mut o, MountFlags::NOATIME),
            "atime" => unset(&mut o, MountFlags::NOATIME),
            "nodiratime" => set(&mut o, MountFlags::NODIRATIME),
            "diratime" => unset(&mut o, MountFlags::NODIRATIME),
            "relatime" => set(&mut o, MountFlags::RELATIME),
            "norelatime" => unset(&mut o, MountFlags::RELATIME),
            "strictatime" => set(&mut o, MountFlags::STRICTATIME),
            "lazytime" => set(&mut o, MountFlags::LAZYTIME),
            "silent" => set(&mut o, MountFlags::SILENT),
            "bind" => o.bind = true,
            "rbind" => {
                o.bind = true;
                o.recursive = true;
            }
            "private" => o.propagation = Some((MountPropagationFlags::PRIVATE, false)),
            "rprivate" => o.propagation = Some((MountPropagationFlags::PRIVATE, true)),
            "slave" => o.propagation = Some((MountPropagationFlags::DOWNSTREAM, false)),
            "rslave" => o.propagation = Some((MountPropagationFlags::DOWNSTREAM, true)),
            "shared" => o.propagation = Some((MountPropagationFlags::SHARED, false)),
            "rshared" => o.propagation = Some((MountPropagationFlags::SHARED, true)),
            "unbindable" => o.propagation = Some((MountPropagationFlags::UNBINDABLE, false)),
            "runbindable" => o.propagation = Some((MountPropagationFlags::UNBINDABLE, true)),
            "optional" => o.optional = true,
            "create=dir" => o.create_dir = true,
            "create=file" => o.create_file = true,
            "relative" => o.relative = true,
            other => o.data.push(other.to_string()),
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lxc_options_from_flags_and_data() {
        let o = parse(&["ro,bind,create=dir,optional", "size=10m,mode=755", "nosuid"]);
        assert!(o.bind && !o.recursive);
        assert!(o.flags.contains(MountFlags::RDONLY));
        assert!(o.create_dir && !o.create_file && o.optional);
        assert!(o.flags.contains(MountFlags::NOSUID));
        assert_eq!(o.data_string(), "size=10m,mode=755");
        let r = parse(&["rbind,rslave,rw"]);
        assert!(r.bind && r.recursive && !r.flags.contains(MountFlags::RDONLY));
        assert_eq!(
            r.propagation,
            Some((MountPropagationFlags::DOWNSTREAM, true))
        );
        assert!(parse(&["defaults"]).data.is_empty());
    }
}
