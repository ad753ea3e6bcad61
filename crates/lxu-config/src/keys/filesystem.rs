//! Keys of the container's file systems and devices: root file system, mounts,
//! /dev, terminals and console.

use super::{flag, Record, Section, Show, SimpleKey};
use crate::fstab::MountEntry;
use crate::mount_auto::MountAuto;
use crate::rootfs::Rootfs;
use crate::values::parse_console_size;

pub(super) const ROOTFS: Section = Section {
    title: "Root file system",
    keys: &[
        SimpleKey {
            name: "lxc.rootfs.path",
            legacy: Some("lxc.rootfs"),
            syntax: "[TYPE:]PATH",
            doc: "The root file system: a directory (`dir:PATH` or a plain path), \
                  `overlay:LOWER:UPPER`, or another LXC storage type such as `btrfs:PATH`.",
            record: Record::Last,
            set: |c, a| a.parse(Rootfs::parse).map(|r| c.rootfs = Some(r)),
            clear: |c| c.rootfs = None,
            show: Show::Recorded,
        },
        SimpleKey {
            name: "lxc.rootfs.mount",
            legacy: None,
            syntax: "PATH",
            doc: "The host directory the root file system is mounted on while the container \
                  starts; hooks find it in `LXC_ROOTFS_MOUNT`.",
            record: Record::Last,
            set: |c, a| a.path().map(|p| c.rootfs_mount = Some(p)),
            clear: |c| c.rootfs_mount = None,
            show: Show::Recorded,
        },
        SimpleKey {
            name: "lxc.rootfs.options",
            legacy: None,
            syntax: "OPTION[,OPTION...]",
            doc: "Mount options of the root file system (not `optional`, `relative` or \
                  `create=`). lxu checks the value and does not act on it.",
            record: Record::Last,
            set: |c, a| {
                for o in a.value.split(',') {
                    if matches!(o, "optional" | "relative") || o.starts_with("create=") {
                        return Err(a.bad(format!("`{o}` is not valid for the rootfs mount")));
                    }
                }
                a.text().map(|v| c.rootfs_options = Some(v))
            },
            clear: |c| c.rootfs_options = None,
            show: Show::Recorded,
        },
        SimpleKey {
            name: "lxc.rootfs.managed",
            legacy: None,
            syntax: "0|1",
            doc: "Whether LXC made the root file system and may delete it (default 1). lxu \
                  checks the value and does not act on it.",
            record: Record::Last,
            set: |_, a| a.bool01().map(drop),
            clear: |_| {},
            show: Show::Recorded,
        },
    ],
    families: &[],
};

pub(super) const MOUNTS: Section = Section {
    title: "Mounts",
    keys: &[
        SimpleKey {
            name: "lxc.mount.auto",
            legacy: None,
            syntax: "TOKEN...",
            doc: "File systems mounted for the container, one token per kind: \
                  `proc[:mixed|:rw]`, `sys[:mixed|:ro|:rw]`, \
                  `cgroup[-full][:mixed|:ro|:rw][:force]`, `cgroup2[:ro][:force]`, \
                  `shmounts:HOST[:CONTAINER]`. A token replaces the earlier one of its kind; \
                  `cgroup` and `cgroup2` are one kind.",
            record: Record::Shown,
            set: |c, a| {
                let auto = &mut c.mount_auto;
                auto.apply(a.value).map_err(|r| a.bad(r))
            },
            clear: |c| c.mount_auto = MountAuto::default(),
            show: Show::Value(|c| c.mount_auto.to_string()),
        },
        SimpleKey {
            name: "lxc.mount.entry",
            legacy: None,
            syntax: "SOURCE TARGET TYPE OPTIONS [DUMP [PASS]]",
            doc: "One mount, as a line of fstab(5); a target without a leading `/` is inside the \
                  root file system. Besides mount(8)'s options: `create=dir` and `create=file` \
                  make the target, `optional` ignores a failure, `relative` takes the source \
                  inside the root file system. Repeatable.",
            record: Record::List,
            set: |c, a| {
                let entry = MountEntry::parse(a.value, a.loc).map_err(|r| a.bad(r))?;
                c.mount_entries.push(entry);
                Ok(())
            },
            clear: |c| c.mount_entries.clear(),
            show: Show::Recorded,
        },
        SimpleKey {
            name: "lxc.mount.fstab",
            legacy: Some("lxc.mount"),
            syntax: "PATH",
            doc: "A file of mounts in fstab(5) syntax, read like `lxc.mount.entry` lines.",
            record: Record::Last,
            set: |c, a| a.path().map(|p| c.mount_fstab = Some(p)),
            clear: |c| c.mount_fstab = None,
            show: Show::Recorded,
        },
    ],
    families: &[],
};

pub(super) const DEVICES: Section = Section {
    title: "Devices",
    keys: &[
        SimpleKey {
            name: "lxc.autodev",
            legacy: None,
            syntax: "0|1",
            doc: "1 (the default) mounts a tmpfs on the container's /dev with the usual device \
                  nodes. An empty value turns it off, as in LXC.",
            record: Record::Last,
            set: |c, a| a.bool01().map(|b| c.autodev = b),
            // LXC turns autodev off on an empty value rather than restoring the default.
            clear: |c| c.autodev = false,
            show: Show::Value(|c| flag(c.autodev)),
        },
        SimpleKey {
            name: "lxc.autodev.tmpfs.size",
            legacy: None,
            syntax: "SIZE",
            doc: "The size of the /dev tmpfs, as LXC passes it to `size=` (LXC's default: \
                  500000). lxu checks the value and does not act on it.",
            record: Record::Last,
            set: |c, a| a.uint().map(|n| c.autodev_tmpfs_size = Some(n)),
            clear: |c| c.autodev_tmpfs_size = None,
            show: Show::Recorded,
        },
    ],
    families: &[],
};

pub(super) const TERMINALS: Section = Section {
    title: "Terminals and console",
    keys: &[
        SimpleKey {
            name: "lxc.tty.max",
            legacy: Some("lxc.tty"),
            syntax: "N",
            doc: "How many terminals (/dev/tty1 …) the container gets for `lxc-console`.",
            record: Record::Last,
            set: |c, a| a.uint().map(|n| c.tty_max = n),
            clear: |c| c.tty_max = 0,
            show: Show::Value(|c| c.tty_max.to_string()),
        },
        SimpleKey {
            name: "lxc.tty.dir",
            legacy: Some("lxc.devttydir"),
            syntax: "NAME",
            doc: "A directory of /dev (such as `lxc`) that holds the terminals and the console, \
                  with links to them in /dev.",
            record: Record::Last,
            set: |c, a| {
                let ok = a.value.len() <= 255 && !a.value.contains('/');
                a.text_if(ok, "must be a single directory name")
                    .map(|v| c.tty_dir = Some(v))
            },
            clear: |c| c.tty_dir = None,
            show: Show::Recorded,
        },
        SimpleKey {
            name: "lxc.pty.max",
            legacy: Some("lxc.pts"),
            syntax: "N",
            doc: "The most pseudo-terminals the container's own devpts allows; 0 (the default) \
                  sets no limit.",
            record: Record::Last,
            set: |c, a| a.uint().map(|n| c.pty_max = n),
            clear: |c| c.pty_max = 0,
            show: Show::Value(|c| c.pty_max.to_string()),
        },
        SimpleKey {
            name: "lxc.console.path",
            legacy: Some("lxc.console"),
            syntax: "PATH|none",
            doc: "Where the container's console leads; `none` gives it no console.",
            record: Record::Last,
            set: |c, a| a.text().map(|v| c.console_path = Some(v)),
            clear: |c| c.console_path = None,
            show: Show::Recorded,
        },
        SimpleKey {
            name: "lxc.console.logfile",
            legacy: None,
            syntax: "PATH",
            doc: "A file that gets a copy of everything the console prints.",
            record: Record::Last,
            set: |c, a| a.path().map(|p| c.console_logfile = Some(p)),
            clear: |c| c.console_logfile = None,
            show: Show::Recorded,
        },
        SimpleKey {
            name: "lxc.console.buffer.size",
            legacy: None,
            syntax: "N[KB|MB|GB]|auto",
            doc: "Keeps the latest console output in memory, in a ring buffer of this size.",
            record: Record::Last,
            set: |c, a| {
                a.parse(parse_console_size)
                    .map(|n| c.console_buffer_size = Some(n))
            },
            clear: |c| c.console_buffer_size = None,
            show: Show::Recorded,
        },
        SimpleKey {
            name: "lxc.console.size",
            legacy: None,
            syntax: "N[KB|MB|GB]|auto",
            doc: "How large the console log file may grow. lxu checks the value and does not \
                  act on it.",
            record: Record::Last,
            set: |c, a| {
                a.parse(parse_console_size)
                    .map(|n| c.console_size = Some(n))
            },
            clear: |c| c.console_size = None,
            show: Show::Recorded,
        },
        SimpleKey {
            name: "lxc.console.rotate",
            legacy: None,
            syntax: "0|1",
            doc: "1 keeps the previous console log file when a new one starts. lxu checks the \
                  value and does not act on it.",
            record: Record::Last,
            set: |c, a| a.bool01().map(|b| c.console_rotate = b),
            clear: |c| c.console_rotate = false,
            show: Show::Value(|c| flag(c.console_rotate)),
        },
    ],
    families: &[],
};
