//! The last step into a container: executing its command without the host's lxu binary
//! being reachable from it (the primitive of CVE-2019-5736).
//!
//! The kernel resolves a `#!` interpreter, and any path through `/proc/self/exe`, in the
//! process that calls exec. If that process is a forked lxu, a command that is (or whose
//! interpreter is) `/proc/self/exe` runs the host's lxu inside the container, as its root,
//! and can reopen the binary. So a process entering a container never execs the command
//! itself: it execs a trampoline from a sealed memfd, and the trampoline execs the command.
//! From the container, `/proc/self/exe` then reaches only the trampoline: a few hundred
//! bytes that exec their arguments, which no one can write to (`F_SEAL_WRITE`) or resize.
//!
//! runc and LXC copy their whole binary into a sealed memfd instead. For lxu (6 MB, static)
//! that copy costs 2.4–3.5 ms and executing it 0.6–0.9 ms, against an `lxu attach` of
//! 2.8 ms; the trampoline's memfd costs ~0.02 ms and its exec ~0.05 ms (docs/design.md).
//!
//! The trampoline takes `path, argv...` and runs `execve(path, argv, envp)`; with fewer
//! than two arguments (as when a script names it as its interpreter and shifts the
//! arguments down), or when exec fails, it writes one line to stderr and exits 127 (not
//! found) or 126, as a shell would.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use lxu_sys::exec::CStrArray;
use rustix::fs::{Access, MemfdFlags, SealFlags};

/// What the trampoline prints when it cannot run the command.
const MESSAGE: &[u8] = b"lxu: exec trampoline: cannot execute the command\n";

/// The trampoline's machine code; `MESSAGE` follows it directly (the code addresses it
/// relative to the instruction pointer, and its length is an immediate). Written with the
/// assembly beside each instruction; checked with `objdump -d` after `as` on the left
/// column (the unit test runs the native one).
#[cfg(target_arch = "x86_64")]
const CODE: &[u8] = &[
    0x48, 0x8b, 0x0c, 0x24, //             mov  rcx, [rsp]           ; argc
    0x48, 0x83, 0xf9, 0x02, //             cmp  rcx, 2
    0x7c, 0x16, //                         jl   fail
    0x48, 0x8b, 0x7c, 0x24, 0x08, //       mov  rdi, [rsp+8]         ; path = argv[0]
    0x48, 0x8d, 0x74, 0x24, 0x10, //       lea  rsi, [rsp+16]        ; &argv[1]
    0x48, 0x8d, 0x54, 0xcc, 0x10, //       lea  rdx, [rsp+rcx*8+16]  ; envp
    0xb8, 0x3b, 0x00, 0x00, 0x00, //       mov  eax, 59              ; execve
    0x0f, 0x05, //                         syscall
    0xbb, 0x7e, 0x00, 0x00, 0x00, // fail: mov  ebx, 126
    0x48, 0x83, 0xf8, 0xfe, //             cmp  rax, -ENOENT
    0x75, 0x05, //                         jne  1f
    0xbb, 0x7f, 0x00, 0x00, 0x00, //       mov  ebx, 127
    0xbf, 0x02, 0x00, 0x00, 0x00, // 1:    mov  edi, 2
    0x48, 0x8d, 0x35, 0x15, 0x00, 0x00, 0x00, // lea rsi, [rip+0x15]  ; MESSAGE
    0xba, 0x31, 0x00, 0x00, 0x00, //       mov  edx, 49
    0xb8, 0x01, 0x00, 0x00, 0x00, //       mov  eax, 1               ; write
    0x0f, 0x05, //                         syscall
    0x89, 0xdf, //                         mov  edi, ebx
    0xb8, 0xe7, 0x00, 0x00, 0x00, //       mov  eax, 231             ; exit_group
    0x0f, 0x05, //                         syscall
];
#[cfg(target_arch = "x86_64")]
const MACHINE: u16 = 62; // EM_X86_64

#[cfg(target_arch = "aarch64")]
const CODE: &[u8] = &[
    0xe3, 0x03, 0x40, 0xf9, //       ldr  x3, [sp]             // argc
    0x7f, 0x08, 0x00, 0xf1, //       cmp  x3, #2
    0xeb, 0x00, 0x00, 0x54, //       b.lt fail
    0xe0, 0x07, 0x40, 0xf9, //       ldr  x0, [sp, #8]         // path = argv[0]
    0xe1, 0x43, 0x00, 0x91, //       add  x1, sp, #16          // &argv[1]
    0xe2, 0x6f, 0x23, 0x8b, //       add  x2, sp, x3, lsl #3
    0x42, 0x40, 0x00, 0x91, //       add  x2, x2, #16          // envp
    0xa8, 0x1b, 0x80, 0xd2, //       mov  x8, #221             // execve
    0x01, 0x00, 0x00, 0xd4, //       svc  #0
    0xd3, 0x0f, 0x80, 0xd2, // fail: mov  x19, #126
    0x1f, 0x08, 0x00, 0xb1, //       cmn  x0, #2               // -ENOENT
    0x41, 0x00, 0x00, 0x54, //       b.ne 1f
    0xf3, 0x0f, 0x80, 0xd2, //       mov  x19, #127
    0x40, 0x00, 0x80, 0xd2, // 1:    mov  x0, #2
    0xe1, 0x00, 0x00, 0x10, //       adr  x1, MESSAGE
    0x22, 0x06, 0x80, 0xd2, //       mov  x2, #49
    0x08, 0x08, 0x80, 0xd2, //       mov  x8, #64              // write
    0x01, 0x00, 0x00, 0xd4, //       svc  #0
    0xe0, 0x03, 0x13, 0xaa, //       mov  x0, x19
    0xc8, 0x0b, 0x80, 0xd2, //       mov  x8, #94              // exit_group
    0x01, 0x00, 0x00, 0xd4, //       svc  #0
];
#[cfg(target_arch = "aarch64")]
const MACHINE: u16 = 183; // EM_AARCH64

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
const _: () = assert!(MESSAGE.len() == 49);

/// Base address of the trampoline's one loaded segment.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
const BASE: u64 = 0x40_0000;

/// The trampoline as a static ELF executable: header, two program headers (the code,
/// read+execute; a non-executable stack), code, message.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn image() -> Vec<u8> {
    const EHDR: usize = 64;
    const PHDR: usize = 56;
    let start = EHDR + 2 * PHDR;
    let len = (start + CODE.len() + MESSAGE.len()) as u64;
    let mut v: Vec<u8> = Vec::with_capacity(len as usize);
    // e_ident: ELF, 64-bit, little-endian, version 1, System V ABI.
    v.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    v.extend_from_slice(&2u16.to_le_bytes()); // e_type: ET_EXEC
    v.extend_from_slice(&MACHINE.to_le_bytes());
    v.extend_from_slice(&1u32.to_le_bytes()); // e_version
    v.extend_from_slice(&(BASE + start as u64).to_le_bytes()); // e_entry
    v.extend_from_slice(&(EHDR as u64).to_le_bytes()); // e_phoff
    v.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    v.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    v.extend_from_slice(&(EHDR as u16).to_le_bytes()); // e_ehsize
    v.extend_from_slice(&(PHDR as u16).to_le_bytes()); // e_phentsize
    v.extend_from_slice(&2u16.to_le_bytes()); // e_phnum
    v.extend_from_slice(&[0; 6]); // e_shentsize, e_shnum, e_shstrndx
                                  // PT_LOAD, R+X, the whole file at BASE.
    phdr(&mut v, 1, 5, BASE, len, 0x1000);
    // PT_GNU_STACK, R+W: the stack is not executable.
    phdr(&mut v, 0x6474_e551, 6, 0, 0, 16);
    v.extend_from_slice(CODE);
    v.extend_from_slice(MESSAGE);
    debug_assert_eq!(v.len() as u64, len);
    v
}

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn phdr(v: &mut Vec<u8>, kind: u32, flags: u32, addr: u64, len: u64, align: u64) {
    v.extend_from_slice(&kind.to_le_bytes());
    v.extend_from_slice(&flags.to_le_bytes());
    v.extend_from_slice(&0u64.to_le_bytes()); // p_offset
    v.extend_from_slice(&addr.to_le_bytes()); // p_vaddr
    v.extend_from_slice(&addr.to_le_bytes()); // p_paddr
    v.extend_from_slice(&len.to_le_bytes()); // p_filesz
    v.extend_from_slice(&len.to_le_bytes()); // p_memsz
    v.extend_from_slice(&align.to_le_bytes());
}

/// A sealed, executable in-memory trampoline (none on architectures lxu has no
/// trampoline code for: there the command is executed directly, unprotected).
pub struct Trampoline(Option<OwnedFd>);

impl Trampoline {
    /// Makes the trampoline. Create it outside the container's pid namespace: the
    /// `vm.memfd_noexec` sysctl that decides whether a memfd may be executed is per pid
    /// namespace, and the container's root may set its own.
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    pub fn new() -> io::Result<Trampoline> {
        let base = MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING;
        // MFD_EXEC (Linux 6.3) says so explicitly where the sysctl asks for it; older
        // kernels reject the flag and make every memfd executable.
        let fd = match rustix::fs::memfd_create("lxu-exec", base | MemfdFlags::EXEC) {
            Err(rustix::io::Errno::INVAL) => rustix::fs::memfd_create("lxu-exec", base)?,
            r => r?,
        };
        let img = image();
        let mut done = 0;
        while done < img.len() {
            done += rustix::io::write(&fd, &img[done..])?;
        }
        rustix::fs::fcntl_add_seals(
            &fd,
            SealFlags::SEAL | SealFlags::SHRINK | SealFlags::GROW | SealFlags::WRITE,
        )?;
        Ok(Trampoline(Some(fd)))
    }

    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    pub fn new() -> io::Result<Trampoline> {
        Ok(Trampoline(None))
    }

    /// The descriptor to keep open until the command is executed.
    pub fn fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.0.as_ref().map(|f| f.as_fd())
    }

    /// Looks `argv[0]` up in `env`'s PATH (or `default_path`) and builds what exec
    /// needs, so that the exec itself allocates nothing. A missing program is
    /// [`io::ErrorKind::NotFound`], as with `Command::exec`.
    pub fn prepare(
        &self,
        argv: &[String],
        env: &[(String, String)],
        default_path: &str,
    ) -> io::Result<Prepared<'_>> {
        use std::os::unix::ffi::OsStrExt;
        let prog = argv
            .first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no command"))?;
        let path_var = env
            .iter()
            .rev()
            .find(|(k, _)| k == "PATH")
            .map_or(default_path, |(_, v)| v.as_str());
        let path = resolve(prog, path_var)?;
        let cstr = |s: &[u8]| {
            CString::new(s).map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in an argument")
            })
        };
        let path = cstr(path.as_os_str().as_bytes())?;
        let mut args = vec![path.clone()];
        for s in argv {
            args.push(cstr(s.as_bytes())?);
        }
        let env = env
            .iter()
            .map(|(k, v)| cstr(format!("{k}={v}").as_bytes()))
            .collect::<io::Result<Vec<_>>>()?;
        Ok(Prepared {
            fd: self.fd(),
            path,
            args: CStrArray::new(args),
            env: CStrArray::new(env),
        })
    }
}

impl Trampoline {
    /// Runs `argv` with exactly `env` through the trampoline in a forked child, stdin
    /// from `/dev/null`, stdout and stderr into one pipe; returns the child's wait status
    /// and everything it wrote. Nothing is looked up through `/proc`, which the container
    /// may have rearranged. The caller must be single-threaded.
    pub fn run_captured(
        &self,
        argv: &[String],
        env: &[(String, String)],
    ) -> io::Result<(std::process::ExitStatus, Vec<u8>)> {
        use std::io::{Read, Write};
        use std::os::unix::process::ExitStatusExt;
        let p = self.prepare(argv, env, crate::session::attach::DEFAULT_PATH)?;
        let (rd, wr) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
        let null = rustix::fs::open(
            "/dev/null",
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )?;
        // SAFETY: single-threaded (the documented precondition): the one caller,
        // `run_in_container` for `lxc.hook.start`, runs in the container's init or in a
        // unit test's namespace child made by `test_support`, each a process of one thread.
        #[allow(unsafe_code)]
        let forked = unsafe { lxu_sys::fork::fork() };
        match forked? {
            lxu_sys::fork::Fork::Child => {
                drop(rd);
                let ready = rustix::stdio::dup2_stdin(&null)
                    .and_then(|()| rustix::stdio::dup2_stdout(&wr))
                    .and_then(|()| rustix::stdio::dup2_stderr(&wr));
                let err = match ready {
                    Ok(()) => p.exec(),
                    Err(e) => e.into(),
                };
                let _ = writeln!(std::io::stderr(), "cannot execute `{}`: {err}", argv[0]);
                let code = if err.kind() == io::ErrorKind::NotFound {
                    127
                } else {
                    126
                };
                lxu_sys::exit_immediately(code)
            }
            lxu_sys::fork::Fork::Parent(pid) => {
                drop(wr);
                drop(null);
                let mut out = Vec::new();
                let read = std::fs::File::from(rd).read_to_end(&mut out);
                let status = loop {
                    match rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty())
                    {
                        Err(rustix::io::Errno::INTR) => continue,
                        r => break r?,
                    }
                };
                read?;
                let raw = status.map(|(_, s)| s.as_raw()).unwrap_or(0);
                Ok((std::process::ExitStatus::from_raw(raw), out))
            }
        }
    }
}

/// A command ready to be run through the trampoline; running it allocates nothing.
pub struct Prepared<'a> {
    fd: Option<std::os::fd::BorrowedFd<'a>>,
    path: CString,
    /// The trampoline's arguments: `path`, then the command's argv.
    args: CStrArray,
    env: CStrArray,
}

impl Prepared<'_> {
    /// Runs the command with exactly its environment. Returns only on failure.
    pub fn exec(&self) -> io::Error {
        match self.fd {
            Some(fd) => lxu_sys::exec::execveat_fd(fd, &self.args, &self.env),
            None => lxu_sys::exec::execve(&self.path, &self.args, 1, &self.env),
        }
    }
}

/// The file `execvp` would run for `prog`: itself if it has a slash, else the first
/// executable regular file named so in a PATH directory. Errors as exec gives them
/// (not found; permission denied when only non-executable candidates exist).
pub fn resolve(prog: &str, path_var: &str) -> io::Result<PathBuf> {
    let not_found = || io::Error::from_raw_os_error(libc::ENOENT);
    if prog.is_empty() {
        return Err(not_found());
    }
    if prog.contains('/') {
        let p = PathBuf::from(prog);
        runnable(&p)?;
        return Ok(p);
    }
    let mut denied = None;
    for dir in path_var.split(':') {
        let p = if dir.is_empty() {
            PathBuf::from(prog)
        } else {
            Path::new(dir).join(prog)
        };
        match runnable(&p) {
            Ok(()) => return Ok(p),
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => denied = Some(e),
            Err(_) => {}
        }
    }
    Err(denied.unwrap_or_else(not_found))
}

fn runnable(p: &Path) -> io::Result<()> {
    let meta = std::fs::metadata(p)?;
    if !meta.is_file() {
        return Err(io::Error::from_raw_os_error(libc::EACCES));
    }
    rustix::fs::access(p, Access::EXEC_OK)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_searches_path_like_execvp() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a"), d.path().join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(a.join("x"), "").unwrap();
        std::fs::write(b.join("x"), "").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(b.join("x"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = format!("{}:{}", a.display(), b.display());
        assert_eq!(resolve("x", &path).unwrap(), b.join("x"));
        assert_eq!(
            resolve("y", &path).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        if rustix::process::geteuid().as_raw() != 0 {
            // Only a file without execute permission: as execvp, permission denied.
            let only = a.display().to_string();
            assert_eq!(
                resolve("x", &only).unwrap_err().kind(),
                io::ErrorKind::PermissionDenied
            );
        }
        // A directory is not a program.
        assert_eq!(
            resolve(&a.display().to_string(), "").unwrap_err().kind(),
            io::ErrorKind::PermissionDenied
        );
    }

    /// Runs `argv` through the trampoline in a forked child; (exit code, stdout, stderr).
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    fn run(t: &Trampoline, argv: &[&str]) -> (Option<i32>, String, String) {
        use lxu_sys::fork::{fork, Fork};
        let d = tempfile::tempdir().unwrap();
        let (out, err) = (d.path().join("out"), d.path().join("err"));
        let (o, e) = (
            std::fs::File::create(&out).unwrap(),
            std::fs::File::create(&err).unwrap(),
        );
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let env = vec![("PATH".to_string(), "/usr/bin:/bin".to_string())];
        // Everything is allocated before the fork (the test harness has threads).
        let p = t.prepare(&argv, &env, "/bin").unwrap();
        // SAFETY: the harness has other threads; the child only duplicates descriptors,
        // execs (the arguments were built above) and exits: system calls, no allocation.
        #[allow(unsafe_code)]
        let forked = unsafe { fork() };
        let pid = match forked.unwrap() {
            Fork::Child => {
                let _ = rustix::stdio::dup2_stdout(&o);
                let _ = rustix::stdio::dup2_stderr(&e);
                let _ = p.exec();
                lxu_sys::exit_immediately(99)
            }
            Fork::Parent(pid) => pid,
        };
        let (_, st) = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty())
            .unwrap()
            .unwrap();
        (
            st.exit_status(),
            std::fs::read_to_string(&out).unwrap(),
            std::fs::read_to_string(&err).unwrap(),
        )
    }

    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    #[test]
    fn the_trampoline_runs_its_arguments_and_is_sealed() {
        let t = Trampoline::new().unwrap();
        let fd = t.fd().unwrap();
        assert!(rustix::io::write(fd, b"x").is_err(), "writable");
        assert!(rustix::fs::ftruncate(fd, 1).is_err(), "resizable");
        let (code, out, err) = run(
            &t,
            &["sh", "-c", "echo $0-$1; readlink /proc/self/exe", "a", "b"],
        );
        assert_eq!(code, Some(0), "{err}");
        assert!(out.starts_with("a-b\n"), "{out}");
        // The command is itself, not the trampoline.
        assert!(!out.contains("lxu-exec"), "{out}");
        // Named as the interpreter through /proc/self/exe, the trampoline reaches only
        // itself, which has lost an argument, and gives up.
        let (code, _, err) = run(&t, &["/proc/self/exe", "--version"]);
        assert_eq!(code, Some(126), "{err}");
        assert!(err.contains("exec trampoline"), "{err}");
        let missing = t.prepare(&["/nonexistent/x".to_string()], &[], "/bin");
        assert_eq!(
            missing.err().map(|e| e.kind()),
            Some(io::ErrorKind::NotFound)
        );
    }
}
