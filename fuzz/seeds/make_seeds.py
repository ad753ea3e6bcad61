#!/usr/bin/env python3
"""Writes the hand-made seed inputs of every fuzz target into fuzz/corpus/<target>/
(run from fuzz/; `cargo fuzz cmin` then keeps what adds coverage). Unpack seeds are
tarballs that try to leave the rootfs, so a regression there shows up at once."""
import io, lzma, os, tarfile

def put(target, name, data):
    d = os.path.join("corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())

# config: files separated by NUL (config, inc.conf, d/a.conf, d/b.conf, fstab);
# `@/` is the input's scratch directory.
common = open("../data/config/common.conf").read()
userns = open("../data/config/userns.conf").read()
put("config", "common", common)
put("config", "userns", userns)
put("config", "includes",
    "lxc.include = @/inc.conf\nlxc.include = @/d/\nlxc.uts.name = c1\n"
    "lxc.net.0.type = veth\nlxc.net.0.link = lxcbr0\nlxc.net.0.hwaddr = 00:16:3e:xx:xx:xx\n"
    "lxc.mount.fstab = @/fstab\n\0"
    "lxc.idmap = u 0 100000 65536\nlxc.idmap = g 0 100000 65536\nlxc.include = @/inc.conf\n\0"
    "lxc.cgroup2.memory.max = 1G\nlxc.prlimit.nofile = 1024:2048\n\0"
    "lxc.hook.pre-start = /bin/true\nlxc.net.0.ipv4.address = 10.0.3.5/24\nlxc.net =\n\0"
    "proc proc proc nodev,noexec,nosuid 0 0\n/dev/x dev/x none bind,optional,create=file 0 0\n")
put("config", "legacy",
    "lxc.network.type = veth\nlxc.network.link = br0\nlxc.network.ipv4 = 10.0.0.2/24 10.0.0.255\n"
    "lxc.id_map = u 0 1000 1\nlxc.utsname = old\nlxc.rootfs = /var/lib/lxc/x/rootfs\n"
    "lxc.aa_profile = unconfined\nlxc.mount = /etc/fstab\nlxc.console = none\n")
put("config", "values",
    "lxc.rootfs.path = dir:/var/lib/lxc/c/rootfs\nlxc.mount.auto = proc:mixed sys:ro cgroup:rw:force\n"
    "lxc.cap.drop = sys_admin mac_admin\nlxc.cap.keep =\nlxc.signal.halt = SIGRTMIN+3\n"
    "lxc.start.auto = 1\nlxc.start.delay = 5\nlxc.group = onboot\nlxc.log.level = DEBUG\n"
    "lxc.sysctl.net.ipv4.ip_forward = 1\nlxc.namespace.keep = user net\nlxc.seccomp.profile = /x\n"
    "lxc.apparmor.profile = generated\nlxc.tty.max = 4\nlxc.pty.max = 1024\n"
    "lxc.environment = A=b\nlxc.cgroup.devices.allow = c 1:3 rwm\n  lxc.ephemeral = '1'\r\n")

# index
put("index", "ok",
    "debian;bookworm;amd64;default;20240101_05:24;/images/debian/bookworm/amd64/default/20240101_05:24/\n"
    "debian;bookworm;amd64;default;20240102_05:24;/images/debian/bookworm/amd64/default/20240102_05:24/\n"
    "alpine;3.19;arm64;cloud;20240101_13:00;/images/alpine/3.19/arm64/cloud/20240101_13:00/\r\n"
    "ubuntu;noble;amd64;default;20240101_05:24;\n\n")
put("index", "bad", "debian;bookworm;amd64;default;20240101_05:24;/images/../etc/\n")

# manifest
h = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
put("manifest", "sums", f"{h}  rootfs.tar.xz\n{h.upper()} *meta.tar.xz\n{h}  ./image.info\n")
put("manifest", "info", "# lxu image\ndist=debian\nrelease=bookworm\narch=amd64\nvariant=default\n"
    "serial=20240101_05:24\nsize.rootfs.tar.xz=123456\nsize.meta.tar.xz = 512\n")
put("manifest", "serial", "20240229_23:59")

# meta: config, fstab, excludes-user, templates, create-message, expiry, config-user
put("meta", "ok", "lxc.include = LXC_TEMPLATE_CONFIG/common.conf\nlxc.arch = x86_64\n\0"
    "proc proc proc nodev 0 0\n\0./dev/*\n./etc/mach[a-z]ne-id\n./var/cache/**\n\0"
    "/etc/hostname\n/etc/hosts\n\0Welcome\n\0" "1700000000\n\0"
    "lxc.include = LXC_TEMPLATE_CONFIG/userns.conf\n")
put("meta", "reach", "lxc.hook.pre-start = /bin/sh\n\0/home/u home/u none bind 0 0\n")
put("meta", "globs", "lxc.arch = x86_64\n\0\0*a*a*a*a*a*a*b\n[!a-]x\\*\n[]]?\n\0"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/aaaaaaaaaaaaaaaaaaaaaaaaaaaa\n\0\0soon\n")

# unpack: tarballs, most of them trying to reach `outside` (a sibling of the rootfs).
def tar(members, fmt=tarfile.GNU_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for m in members:
            kind, name = m[0], m[1]
            ti = tarfile.TarInfo(name)
            ti.mtime = 1700000000
            data = b""
            if kind == "file":
                data = m[2] if len(m) > 2 else b"x\n"
                ti.size = len(data)
                ti.mode = 0o644
            elif kind == "dir":
                ti.type = tarfile.DIRTYPE
                ti.mode = m[2] if len(m) > 2 else 0o755
            elif kind == "sym":
                ti.type = tarfile.SYMTYPE
                ti.linkname = m[2]
            elif kind == "hard":
                ti.type = tarfile.LNKTYPE
                ti.linkname = m[2]
            elif kind == "fifo":
                ti.type = tarfile.FIFOTYPE
            elif kind == "chr":
                ti.type = tarfile.CHRTYPE
                ti.devmajor, ti.devminor = 1, 3
            if len(m) > 3:
                ti.pax_headers = m[3]
            t.addfile(ti, io.BytesIO(data) if data else None)
    return buf.getvalue()

put("unpack", "plain", tar([("dir", "./"), ("dir", "./etc/"), ("file", "./etc/hostname"),
    ("sym", "./etc/localtime", "/usr/share/zoneinfo/UTC"), ("hard", "./etc/hn2", "./etc/hostname"),
    ("fifo", "./run/fifo"), ("chr", "./dev/null"), ("file", "./etc/excluded"), ("dir", "./x", 0o000),
    ("file", "./x/y")]))
put("unpack", "pax", tar([("file", "./a", b"a", {"path": "./pax-name", "mtime": "1.5",
    "SCHILY.xattr.user.k": "v", "uid": "1000", "gid": "1000"})], tarfile.PAX_FORMAT))
put("unpack", "dotdot", tar([("file", "../outside/canary", b"pwned"), ("file", "a/../../outside/x")]))
put("unpack", "symlink-out", tar([("sym", "esc", "../outside"), ("file", "esc/canary", b"pwned"),
    ("file", "esc/new", b"pwned")]))
put("unpack", "symlink-abs", tar([("sym", "esc", "/"), ("dir", "esc/etc"), ("file", "esc/etc/new", b"x")]))
put("unpack", "symlink-replaces-dir", tar([("dir", "d"), ("file", "d/f"), ("sym", "d", "../../outside"),
    ("file", "d/g", b"pwned"), ("sym", "d/h", "../../outside/canary"), ("hard", "d/i", "d/h")]))
put("unpack", "symlink-then-file", tar([("sym", "f", "../outside/canary"), ("file", "f", b"pwned")]))
put("unpack", "hardlink-out", tar([("hard", "h", "../outside/canary"), ("hard", "h2", "/etc/passwd"),
    ("sym", "s", "../outside/canary"), ("hard", "h3", "s"), ("file", "h3", b"pwned")]))
put("unpack", "abs-names", tar([("dir", "/etc"), ("file", "/etc/abs"), ("file", "//x//./y")]))
put("unpack", "xz", lzma.compress(tar([("file", "./z", b"z" * 1000)]), format=lzma.FORMAT_XZ))
put("unpack", "truncated", tar([("file", "./a", b"a" * 2000)])[:1100])

# nicdb / usernet
put("nicdb", "ok", "alice veth lxcbr0 veth1000_0\n@users veth lxcbr0 veth1000_1\n\nbad line\n"
    "bob veth br0 toolong-interface-name-xyz\n")
put("usernet", "ok", "# comment\nalice veth lxcbr0 2\nbob veth lxcbr0 5 # note\n@lxcusers veth lxcbr0 3\n"
    "@ veth lxcbr0 1\ncarol veth br0 -1\ndave veth br0 2 extra\nshort line\nalice veth lxcbr0 4294967295\n")

# seccomp
put("seccomp", "common", open("../data/config/common.seccomp").read())
put("seccomp", "v1", "1\nallowlist\n0\n1\n\n# comment\n60\n")
put("seccomp", "v2", "2\ndenylist errno 38\n[x86_64]\nreboot errno 1\nsetns kill\n[all]\n"
    "mount errno 1 [1,0,SCMP_CMP_MASKED_EQ,1]\numount2 [1,2,SCMP_CMP_GE]\n[i386]\nsocketcall\n"
    "[x32]\nkexec_load trap\n[arm64]\nbpf log\n[arm]\nsethostname notify\n")
