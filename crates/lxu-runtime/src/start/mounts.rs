//! Mount helpers that resolve every path inside the container's root.
//!
//! Container images are untrusted: a rootfs may contain symlinks such as `dev -> /etc`.
//! Targets are opened with `openat2(RESOLVE_IN_ROOT)` relative to the root's descriptor,
//! and mounts go onto `/proc/self/fd/N` of that descriptor, so a symlink can never lead a
//! mount or a created file outside the rootfs.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use rustix::fs::{openat2, Mode, OFlags, ResolveFlags};
use rustix::mount::MountFlags;

fn resolve_flags() -> ResolveFlags {
    ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS
}

/// `/proc/self/fd/N` for a descriptor: the path through which mount(2) reaches it.
pub fn fd_path(fd: BorrowedFd<'_>) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

fn rel(path: &str) -> &str {
    let p = path.trim_start_matches('/');
    if p.is_empty() {
        "."
    } else {
        p
    }
}

/// Opens `path` inside `root` as an `O_PATH` descriptor.
pub fn open_in(root: BorrowedFd<'_>, path: &str) -> io::Result<OwnedFd> {
    Ok(openat2(
        root,
        rel(path),
        OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
        resolve_flags(),
    )?)
}

/// `mkdir -p` inside `root`; returns an `O_PATH` descriptor of the directory.
pub fn mkdir_all_in(root: BorrowedFd<'_>, path: &str, mode: u32) -> io::Result<OwnedFd> {
    let path = rel(path);
    if let Ok(fd) = openat2(
        root,
        path,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
        resolve_flags(),
    ) {
        return Ok(fd);
    }
    let mut dir = openat2(
        root,
        ".",
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
        resolve_flags(),
    )?;
    let mut walked = String::new();
    for comp in path.split('/').filter(|c| !c.is_empty() && *c != ".") {
        if !walked.is_empty() {
            walked.push('/');
        }
        walked.push_str(comp);
        match rustix::fs::mkdirat(&dir, comp, Mode::from_raw_mode(mode)) {
            Ok(()) | Err(rustix::io::Errno::EXIST) => {}
            Err(e) => return Err(e.into()),
        }
        // Re-resolve from the root so `..` and symlinks stay confined to it.
        dir = openat2(
            root,
            walked.as_str(),
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            resolve_flags(),
        )?;
    }
    Ok(dir)
}

/// Creates (if missing) an empty file inside `root`, its parents too; returns `O_PATH`.
pub fn create_file_in(root: BorrowedFd<'_>, path: &str, mode: u32) -> io::Result<OwnedFd> {
    let path = rel(path);
    if let Some((parent, _)) = path.rsplit_once('/') {
        mkdir_all_in(root, parent, 0o755)?;
    }
    match openat2(
        root,
        path,
        OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
        resolve_flags(),
    ) {
        Ok(fd) => return Ok(fd),
        Err(rustix::io::Errno::NOENT) => {}
        Err(e) => return Err(e.into()),
    }
    let f = openat2(
        root,
        path,
        OFlags::CREATE | OFlags::WRONLY | OFlags::CLOEXEC,
        Mode::from_raw_mode(mode),
        resolve_flags(),
    )?;
    drop(f);
    Ok(openat2(
        root,
        path,
        OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
        resolve_flags(),
    )?)
}

/// Mounts a filesystem onto the location of `target`.
pub fn mount_fs(
    source: &str,
    target: BorrowedFd<'_>,
    fstype: &str,
    flags: MountFlags,
    data: &str,
) -> io::Result<()> {
    let data = std::ffi::CString::new(data)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "mount data contains NUL"))?;
    let data = (!data.as_bytes().is_empty()).then_some(data.as_c_str());
    rustix::mount::mount(source, fd_path(target).as_str(), fstype, flags, data)?;
    Ok(())
}

/// Bind-mounts `source` (a host path or `/proc/self/fd/N`) onto `target`.
pub fn bind(source: &str, target: BorrowedFd<'_>, recursive: bool) -> io::Result<()> {
    let t = fd_path(target);
    if recursive {
        rustix::mount::mount_bind_recursive(source, t.as_str())?;
    } else {
        rustix::mount::mount_bind(source, t.as_str())?;
    }
    Ok(())
}

/// Flags a mount point already has that a remount inside a user namespace must keep
/// (the kernel refuses to clear nosuid/nodev/noexec/ro/atime flags of locked mounts).
pub fn locked_flags(fd: BorrowedFd<'_>) -> MountFlags {
    use rustix::fs::StatVfsMountFlags as V;
    let Ok(st) = rustix::fs::fstatvfs(fd) else {
        return MountFlags::empty();
    };
    let mut f = MountFlags::empty();
    let pairs = [
        (V::NOSUID, MountFlags::NOSUID),
        (V::NODEV, MountFlags::NODEV),
        (V::NOEXEC, MountFlags::NOEXEC),
        (V::NOATIME, MountFlags::NOATIME),
        (V::NODIRATIME, MountFlags::NODIRATIME),
        (V::RELATIME, MountFlags::RELATIME),
    ];
    for (v, m) in pairs {
        if st.f_flag.contains(v) {
            f |= m;
        }
    }
    f
}

/// Remounts the bind mount at `target` with `flags` (e.g. read-only), keeping the flags
/// the kernel would refuse to drop.
pub fn remount_bind(target: BorrowedFd<'_>, flags: MountFlags) -> io::Result<()> {
    let keep = locked_flags(target);
    rustix::mount::mount_remount(
        fd_path(target).as_str(),
        flags | keep | MountFlags::BIND,
        "",
    )?;
    Ok(())
}

/// Opens a host path as an `O_PATH` descriptor (for bind sources).
pub fn open_host(path: &str) -> io::Result<OwnedFd> {
    Ok(rustix::fs::open(
        path,
        OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}
