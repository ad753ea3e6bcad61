//! Small file helpers with the path in every error. cgroupfs files are read and
//! written whole, one `write(2)` per value, because the kernel parses each write
//! on its own.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rustix::fs::{Access, AtFlags, CWD};

use crate::CgroupError;

pub(crate) fn read(path: &Path) -> Result<String, CgroupError> {
    fs::read_to_string(path).map_err(|e| CgroupError::read(path, e))
}

pub(crate) fn read_trimmed(path: &Path) -> Result<String, CgroupError> {
    Ok(read(path)?.trim().to_owned())
}

/// `None` when the file does not exist (controller not enabled, older kernel).
pub(crate) fn read_opt(path: &Path) -> Result<Option<String>, CgroupError> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CgroupError::read(path, e)),
    }
}

pub(crate) fn write_raw(path: &Path, value: &str) -> io::Result<()> {
    let mut f = OpenOptions::new().write(true).truncate(true).open(path)?;
    let n = f.write(value.as_bytes())?;
    if n != value.len() {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!("short write ({n} of {} bytes)", value.len()),
        ));
    }
    Ok(())
}

pub(crate) fn write(path: &Path, value: &str) -> Result<(), CgroupError> {
    write_hint(path, value, |_| String::new())
}

/// Writes and, on failure, lets the caller explain the errno in cgroup terms.
pub(crate) fn write_hint(
    path: &Path,
    value: &str,
    hint: impl FnOnce(&io::Error) -> String,
) -> Result<(), CgroupError> {
    write_raw(path, value).map_err(|source| CgroupError::Write {
        path: path.to_owned(),
        value: value.to_owned(),
        hint: hint(&source),
        source,
    })
}

/// Refuses a name that cannot be one component of a cgroup path (a `/`, NUL or newline
/// in it) or that `refuse` gives a reason against.
pub(crate) fn check_name(
    what: &'static str,
    name: &str,
    refuse: impl FnOnce(&str) -> Option<&'static str>,
) -> Result<(), CgroupError> {
    let reason = if name.contains(['/', '\0', '\n']) {
        Some("contains `/`, NUL or a newline")
    } else {
        refuse(name)
    };
    match reason {
        None => Ok(()),
        Some(reason) => Err(CgroupError::InvalidName {
            what,
            name: name.to_owned(),
            reason,
        }),
    }
}

/// Access check with the effective ids, which are the ones the kernel uses for
/// the later open/mkdir (plain access(2) would use the real ids).
pub(crate) fn can_write(path: &Path) -> bool {
    rustix::fs::accessat(CWD, path, Access::WRITE_OK, AtFlags::EACCESS).is_ok()
}

pub(crate) fn can_write_dir(path: &Path) -> bool {
    rustix::fs::accessat(
        CWD,
        path,
        Access::WRITE_OK | Access::EXEC_OK,
        AtFlags::EACCESS,
    )
    .is_ok()
}

pub(crate) fn parse_pids(text: &str) -> Vec<u32> {
    text.split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect()
}

/// Pids listed in `cgroup.procs` of `dir` (a missing file reads as empty, for
/// directory trees in tests and for cgroups removed meanwhile).
pub(crate) fn procs_of(dir: &Path) -> Result<Vec<u32>, CgroupError> {
    Ok(read_opt(&dir.join("cgroup.procs"))?
        .map(|t| parse_pids(&t))
        .unwrap_or_default())
}

/// Child cgroups of `dir`.
pub(crate) fn subdirs(dir: &Path) -> Result<Vec<PathBuf>, CgroupError> {
    let mut out = Vec::new();
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(CgroupError::read(dir, e)),
    };
    for entry in rd {
        let entry = entry.map_err(|e| CgroupError::read(dir, e))?;
        let ft = entry
            .file_type()
            .map_err(|e| CgroupError::read(entry.path(), e))?;
        if ft.is_dir() {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

/// Pids in `dir` and every cgroup below it: processes of a container may sit in
/// cgroups the container created itself.
pub(crate) fn procs_recursive(dir: &Path, out: &mut Vec<u32>) -> Result<(), CgroupError> {
    out.extend(procs_of(dir)?);
    for sub in subdirs(dir)? {
        procs_recursive(&sub, out)?;
    }
    Ok(())
}

/// Every directory below `dir` (not `dir` itself), deepest first.
pub(crate) fn subtree_deepest_first(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), CgroupError> {
    for sub in subdirs(dir)? {
        subtree_deepest_first(&sub, out)?;
        out.push(sub);
    }
    Ok(())
}

pub(crate) fn errno_hint_for_move(e: &io::Error, v2: bool) -> String {
    use rustix::io::Errno;
    let hint = match (Errno::from_io_error(e), v2) {
        (Some(Errno::ACCESS), false) => {
            "cgroup v1 lets an unprivileged writer move only processes whose uid equals its \
             effective uid: attach before the process changes ids"
        }
        (Some(Errno::ACCESS), true) => {
            "cgroup v2 also needs write access to `cgroup.procs` of the common ancestor of \
             the source and destination cgroups: the mover must live inside the delegated subtree"
        }
        (Some(Errno::BUSY), true) => {
            "cgroup v2 forbids processes in a cgroup that enables controllers for its children"
        }
        (Some(Errno::SRCH), _) => "no such process",
        _ => return String::new(),
    };
    format!(" ({hint})")
}
