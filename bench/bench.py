#!/usr/bin/env python3
"""lxu's benchmark phases, one per invocation (bench/run calls them in order).

Every phase but `report` runs as the unprivileged bench user with a clean environment;
it writes what it measured to RESULTS/<phase>.json and never judges a timing: the
`report` phase (root) turns the files into the table.

Timing is whole-process wall time: perf_counter_ns around posix_spawn + waitpid, so
every tool pays the same (small) spawn cost. Compared commands alternate A B A B
within one loop; the ratio of a row is the median of the per-iteration ratios.
"""

import argparse
import datetime
import gc
import json
import os
import shutil
import statistics
import sys
import time

LXC = {v: f"/usr/bin/lxc-{v}" for v in ("create", "start", "wait", "stop", "ls", "info", "attach", "destroy")}
FLOOR = ["/usr/bin/unshare", "-Urpf", "--mount-proc", "true"]
CRUN = "/usr/bin/crun"
BUSYBOX = "/bin/busybox"
# Container names start with this, so whatever they leave (cgroups, locks) is ours.
PREFIX = "lxb-"
# How many containers `ls` lists and how many run at once for the memory figures.
LS_COUNT = 100
MEM_COUNT = 20
# Quiet time before the monitors' memory is read.
MEM_QUIET_S = 2
# Pause between a start and the stop that follows, so the stop meets a booted container.
SETTLE_S = 0.1


def idle_pct_over(seconds):
    """Share of idle (and iowait) CPU time over the next `seconds`, all CPUs."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
        return v[3] + v[4], sum(v)

    i0, t0 = sample()
    time.sleep(seconds)
    i1, t1 = sample()
    return 100.0 * (i1 - i0) / max(1, t1 - t0)


class Failed(Exception):
    """A command the benchmark relies on did not do its job."""


class Bench:
    def __init__(self, a):
        self.a = a
        self.work = a.work
        self.lxu = a.lxu
        self.result = {"phase": a.phase, "series": {}, "notes": [], "anomalies": []}
        os.makedirs(os.path.join(self.work, "log"), exist_ok=True)
        self.log_path = os.path.join(self.work, "log", f"{a.phase}.log")
        self.log = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.null = os.open("/dev/null", os.O_RDWR)
        # True during the warm-up iterations of a loop (checks that must not be timed).
        self.warming = False

    # -- running commands ---------------------------------------------------------------

    def spawn(self, argv, env=None, out=None):
        """Runs argv (absolute path) with stdin on /dev/null, stdout on /dev/null (or
        `out`, an fd that then takes stderr too), stderr to the log."""
        actions = [
            (os.POSIX_SPAWN_DUP2, self.null, 0),
            (os.POSIX_SPAWN_DUP2, self.null if out is None else out, 1),
            (os.POSIX_SPAWN_DUP2, self.log if out is None else out, 2),
        ]
        pid = os.posix_spawn(argv[0], argv, os.environ if env is None else env, file_actions=actions)
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status)

    def timed(self, *argvs, env=None, out=None):
        """Wall time in ns of running argvs one after the other; fails on a non-zero exit."""
        t0 = time.perf_counter_ns()
        for argv in argvs:
            rc = self.spawn(argv, env=env, out=out)
            if rc != 0:
                raise Failed(f"`{' '.join(argv)}` exited with {rc}{self.log_tail(out)}")
        return time.perf_counter_ns() - t0

    def timed_output(self, argv, env=None):
        """(wall time in ns, stdout) of argv; stdout goes to a file read afterwards, so
        the timing does not include reading a pipe."""
        path = os.path.join(self.work, "log", f"{self.a.phase}.stdout")
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            actions = [
                (os.POSIX_SPAWN_DUP2, self.null, 0),
                (os.POSIX_SPAWN_DUP2, fd, 1),
                (os.POSIX_SPAWN_DUP2, self.log, 2),
            ]
            t0 = time.perf_counter_ns()
            pid = os.posix_spawn(argv[0], argv, os.environ if env is None else env, file_actions=actions)
            _, status = os.waitpid(pid, 0)
            ns = time.perf_counter_ns() - t0
            rc = os.waitstatus_to_exitcode(status)
            if rc != 0:
                raise Failed(f"`{' '.join(argv)}` exited with {rc}{self.log_tail()}")
            os.lseek(fd, 0, os.SEEK_SET)
            chunks = []
            while True:
                b = os.read(fd, 65536)
                if not b:
                    break
                chunks.append(b)
            return ns, b"".join(chunks).decode(errors="replace")
        finally:
            os.close(fd)

    def run(self, argv, check=True, env=None):
        """Untimed; returns stdout."""
        r, w = os.pipe()
        actions = [
            (os.POSIX_SPAWN_DUP2, self.null, 0),
            (os.POSIX_SPAWN_DUP2, w, 1),
            (os.POSIX_SPAWN_DUP2, self.log, 2),
        ]
        pid = os.posix_spawn(argv[0], argv, os.environ if env is None else env, file_actions=actions)
        os.close(w)
        chunks = []
        while True:
            b = os.read(r, 65536)
            if not b:
                break
            chunks.append(b)
        os.close(r)
        _, status = os.waitpid(pid, 0)
        rc = os.waitstatus_to_exitcode(status)
        if check and rc != 0:
            raise Failed(f"`{' '.join(argv)}` exited with {rc}{self.log_tail()}")
        return b"".join(chunks).decode(errors="replace")

    def log_tail(self, fd=None):
        """The last lines of the log (or of the file open as `fd`)."""
        try:
            if fd is None:
                with open(self.log_path, errors="replace") as f:
                    lines = f.read().splitlines()[-6:]
            else:
                with open(f"/proc/self/fd/{fd}", errors="replace") as f:
                    lines = f.read().splitlines()[-6:]
        except OSError:
            return ""
        return (": " + " | ".join(lines)) if lines else ""

    # -- the two tools --------------------------------------------------------------------

    def lxu_cmd(self, verb, path, name, *rest):
        return [self.lxu, verb, "-P", path, "-n", name, *rest]

    def lxc_cmd(self, verb, path, name, *rest):
        return [LXC[verb], "-P", path, "-n", name, *rest]

    def lxu_state(self, path, name):
        out = self.run(self.lxu_cmd("info", path, name, "-s"), check=False)
        return out.split()[-1] if out.split() else "?"

    def lxc_state(self, path, name):
        out = self.run(self.lxc_cmd("info", path, name, "-s", "-H"), check=False)
        return out.split()[-1] if out.split() else "?"

    def lxu_create(self, path, name):
        return self.lxu_cmd("create", path, name, "-t", "busybox", "-f", self.p("net-lxu.conf"))

    def lxc_create(self, path, name):
        return self.lxc_cmd("create", path, name, "-t", "busybox", "-f", self.p("net-lxc.conf"))

    def p(self, *parts):
        return os.path.join(self.work, *parts)

    def expect(self, what, got, want):
        if got != want:
            self.result["anomalies"].append(f"{what}: state {got}, expected {want}")

    # -- method -----------------------------------------------------------------------------

    def wait_idle(self):
        """Waits (up to --idle-timeout s) for one second with >= --idle-pct % idle CPU."""
        start = time.monotonic()
        best = 0.0
        while True:
            pct = idle_pct_over(1.0)
            best = max(best, pct)
            waited = time.monotonic() - start
            if pct >= self.a.idle_pct or waited >= self.a.idle_timeout:
                idle = {"reached": pct >= self.a.idle_pct, "idle_pct": round(pct, 1),
                        "best_pct": round(best, 1), "waited_s": round(waited, 1)}
                self.result.setdefault("idle", []).append(idle)
                return idle

    def gate(self):
        """Before each iteration: up to --gate-max s for a quiet 0.2 s, since the host is
        shared and a compile elsewhere can start in the middle of a block."""
        deadline = time.monotonic() + self.a.gate_max
        while idle_pct_over(0.2) < self.a.idle_pct:
            if time.monotonic() >= deadline:
                self.result["busy_iterations"] = self.result.get("busy_iterations", 0) + 1
                return

    def loop(self, steps, warmup=None, runs=None):
        """Runs warm-up + measured iterations; each step is (series name or None, fn).

        fn returns ns (recorded under the name) or None (an untimed step)."""
        warmup = self.a.warmup if warmup is None else warmup
        runs = self.a.runs if runs is None else runs
        series = self.result["series"]
        for name, _ in steps:
            if name:
                series.setdefault(name, [])
        gc.disable()
        try:
            for i in range(warmup + runs):
                self.warming = i < warmup
                if i >= warmup:
                    self.gate()
                for name, fn in steps:
                    v = fn()
                    if name and i >= warmup:
                        series[name].append(v)
        finally:
            gc.enable()

    def save(self):
        self.result["finished"] = time.time()
        with open(os.path.join(self.a.results, f"{self.a.phase}.json"), "w") as f:
            json.dump(self.result, f, indent=1)


# -- phases ---------------------------------------------------------------------------------


def phase_cycle(b):
    """Start to RUNNING and stop -k, lxu vs LXC, plus the floor, in one alternating loop."""
    L, C, n = b.p("lxu"), b.p("lxc"), PREFIX + "s"
    b.run(b.lxu_create(L, n))
    b.run(b.lxc_create(C, n))
    b.wait_idle()

    def lxu_start():
        ns = b.timed(b.lxu_cmd("start", L, n))
        b.expect("lxu start returned", b.lxu_state(L, n), "RUNNING")
        time.sleep(SETTLE_S)
        return ns

    def lxu_stop():
        ns = b.timed(b.lxu_cmd("stop", L, n, "-k"))
        b.expect("lxu stop -k returned", b.lxu_state(L, n), "STOPPED")
        return ns

    def lxc_start():
        ns = b.timed(b.lxc_cmd("start", C, n), b.lxc_cmd("wait", C, n, "-s", "RUNNING"))
        time.sleep(SETTLE_S)
        return ns

    def lxc_stop():
        ns = b.timed(b.lxc_cmd("stop", C, n, "-k"))
        b.expect("lxc-stop -k returned", b.lxc_state(C, n), "STOPPED")
        return ns

    b.loop([("lxu_start", lxu_start), ("lxu_stop", lxu_stop),
            ("lxc_start", lxc_start), ("lxc_stop", lxc_stop),
            ("floor", lambda: b.timed(FLOOR))])


def phase_create(b):
    """`create -t busybox`, each followed by an untimed destroy."""
    L, C, n = b.p("lxu"), b.p("lxc"), PREFIX + "c"
    b.wait_idle()

    def destroy_lxu():
        b.run(b.lxu_cmd("destroy", L, n))

    def destroy_lxc():
        b.run(b.lxc_cmd("destroy", C, n))

    b.loop([("lxu", lambda: b.timed(b.lxu_create(L, n))), (None, destroy_lxu),
            ("lxc", lambda: b.timed(b.lxc_create(C, n))), (None, destroy_lxc)], warmup=1)


def ls_name(i):
    return f"{PREFIX}{i:03d}"


def phase_ls_prep(b):
    """LS_COUNT lxu containers made by lxu; LXC's first one (bench/run copies it as root)."""
    L, C = b.p("lxu-ls"), b.p("lxc-ls")
    t0 = time.perf_counter_ns()
    for i in range(LS_COUNT):
        b.run(b.lxu_create(L, ls_name(i)))
    b.result["lxu_create_all_ns"] = time.perf_counter_ns() - t0
    b.run(b.lxc_create(C, ls_name(0)))


def phase_ls(b):
    """`ls --fancy` over LS_COUNT containers with one running."""
    L, C, first = b.p("lxu-ls"), b.p("lxc-ls"), ls_name(0)
    b.run(b.lxu_cmd("start", L, first))
    b.run(b.lxc_cmd("start", C, first))
    b.run(b.lxc_cmd("wait", C, first, "-s", "RUNNING"))
    # Both must list the same thing, or the race is not fair.
    for tool, argv in (("lxu", [b.lxu, "ls", "-P", L, "--fancy"]), ("lxc", [LXC["ls"], "-P", C, "--fancy"])):
        rows = [r for r in b.run(argv).splitlines()[1:] if r.strip()]
        running = sum(1 for r in rows if "RUNNING" in r.split())
        b.result[f"{tool}_listed"] = {"rows": len(rows), "running": running}
        if len(rows) != LS_COUNT or running != 1:
            b.result["anomalies"].append(f"{tool} ls --fancy listed {len(rows)} rows, {running} running "
                                         f"(expected {LS_COUNT}, 1)")
    b.wait_idle()
    b.loop([("lxu", lambda: b.timed([b.lxu, "ls", "-P", L, "--fancy"])),
            ("lxc", lambda: b.timed([LXC["ls"], "-P", C, "--fancy"]))])


def phase_attach(b):
    """`attach -- /bin/true` into a running busybox container, plus the floor."""
    L, C, n = b.p("lxu"), b.p("lxc"), PREFIX + "s"
    b.run(b.lxu_cmd("start", L, n))
    b.run(b.lxc_cmd("start", C, n))
    b.run(b.lxc_cmd("wait", C, n, "-s", "RUNNING"))
    time.sleep(0.5)
    b.wait_idle()
    attach = b.lxu_cmd("attach", L, n, "--", "/bin/true")
    # lxu_warm: a second lxu attach right after the first, while the CPUs, the monitor
    # and the kernel's cgroup state are still warm; the gate makes every measured iteration
    # start cold, as a user's command would, and lxu_warm shows the difference.
    b.loop([("lxu", lambda: b.timed(attach)), ("lxu_warm", lambda: b.timed(attach)),
            ("lxc", lambda: b.timed(b.lxc_cmd("attach", C, n, "--", "/bin/true"))),
            ("floor", lambda: b.timed(FLOOR))])
    b.run(b.lxu_cmd("stop", L, n, "-k"))
    b.run(b.lxc_cmd("stop", C, n, "-k"))


def proc_kb(pid, fname, key):
    with open(f"/proc/{pid}/{fname}") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise Failed(f"no {key} in /proc/{pid}/{fname}")


def ppid_of(pid):
    return proc_kb(pid, "status", "PPid")


def monitor_pids(b, tool, path, infocmd):
    """(name, init, monitor) of the first MEM_COUNT containers, asked through the tool."""
    out = []
    for i in range(MEM_COUNT):
        name = ls_name(i)
        words = b.run(infocmd(path, name, "-p", "-H")).split()
        if not words:
            raise Failed(f"{tool}: no pid for {name}")
        init = int(words[-1])
        out.append((name, init, ppid_of(init)))
    return out


def monitor_memory(pids):
    """Memory of each monitor, read from /proc only (asking a monitor anything wakes it,
    and lxu's gives code pages and heap back only after 0.5 s of quiet)."""
    rows = []
    for name, init, mon in pids:
        with open(f"/proc/{mon}/comm") as f:
            comm = f.read().strip()
        with open(f"/proc/{mon}/cmdline", "rb") as f:
            cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        with open(f"/proc/{init}/cgroup") as f:
            cg = [ln.strip() for ln in f if ":pids:" in ln or ln.startswith("0::")]
        rows.append({
            "name": name, "init": init, "monitor": mon, "comm": comm, "cmdline": cmdline,
            "VmRSS": proc_kb(mon, "status", "VmRSS"),
            "Pss": proc_kb(mon, "smaps_rollup", "Pss"),
            "Pss_Anon": proc_kb(mon, "smaps_rollup", "Pss_Anon"),
            "Threads": proc_kb(mon, "status", "Threads"),
            "init_cgroup": cg,
        })
    return rows


def phase_memory(b):
    """Starts MEM_COUNT containers per tool (one tool at a time, so Pss is not shared
    across tools) and reads their monitors' memory."""
    L, C = b.p("lxu-ls"), b.p("lxc-ls")
    b.wait_idle()
    names = [ls_name(i) for i in range(MEM_COUNT)]
    # lxu
    for n in names:
        if b.lxu_state(L, n) != "RUNNING":
            b.run(b.lxu_cmd("start", L, n))
    pids = monitor_pids(b, "lxu", L, lambda p, n, *r: b.lxu_cmd("info", p, n, *r))
    time.sleep(MEM_QUIET_S)
    b.result["lxu"] = monitor_memory(pids)
    for n in names:
        b.run(b.lxu_cmd("stop", L, n, "-k"))
    # LXC
    for n in names:
        if b.lxc_state(C, n) != "RUNNING":
            b.run(b.lxc_cmd("start", C, n))
            b.run(b.lxc_cmd("wait", C, n, "-s", "RUNNING"))
    pids = monitor_pids(b, "lxc", C, lambda p, n, *r: b.lxc_cmd("info", p, n, *r))
    time.sleep(MEM_QUIET_S)
    b.result["lxc"] = monitor_memory(pids)
    for n in names:
        b.run(b.lxc_cmd("stop", C, n, "-k"))
    for tool, want in (("lxu", "lxu-monitor"), ("lxc", "[lxc monitor]")):
        odd = [r["name"] for r in b.result[tool] if want not in (r["comm"], r["cmdline"].split(" /")[0])]
        if odd:
            b.result["anomalies"].append(f"{tool}: parent of init is not `{want}` for {odd}")


def phase_crun(b):
    """crun run (rootless, minimal busybox bundle) /bin/true vs the floor, in the mount
    namespace bench/run made without the v2 hierarchy."""
    if not os.access(CRUN, os.X_OK):
        b.result["skip"] = f"{CRUN} is not installed (apt-get install crun)"
        return
    bundle, state = b.p("crun", "bundle"), b.p("crun", "state")
    rootfs = os.path.join(bundle, "rootfs")
    for d in ("bin", "proc", "dev", "sys", "tmp"):
        os.makedirs(os.path.join(rootfs, d), exist_ok=True)
    with open(BUSYBOX, "rb") as src, open(os.path.join(rootfs, "bin", "busybox"), "wb") as dst:
        dst.write(src.read())
    os.chmod(os.path.join(rootfs, "bin", "busybox"), 0o755)
    for tool in ("true", "sh"):
        os.symlink("busybox", os.path.join(rootfs, "bin", tool))
    os.makedirs(state, exist_ok=True)
    cwd = os.getcwd()
    os.chdir(bundle)
    try:
        b.run([CRUN, "spec", "--rootless"])
    finally:
        os.chdir(cwd)
    cfg_path = os.path.join(bundle, "config.json")
    with open(cfg_path) as f:
        cfg = json.load(f)
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["/bin/true"]
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    seq = iter(range(1_000_000))

    def crun_run():
        return b.timed([CRUN, "--root", state, "run", "-b", bundle, f"{PREFIX}crun-{next(seq)}"])

    try:
        crun_run()
    except Failed as e:
        b.result["skip"] = f"crun cannot run here: {e}"
        return
    b.wait_idle()
    b.loop([("crun", crun_run), ("floor", lambda: b.timed(FLOOR))])


# -- network: the extra start latency of a veth, and the nic helpers alone -----------------

LXC_USER_NIC = "/usr/libexec/lxc/lxc-user-nic"
UNSHARE = "/usr/bin/unshare"
NSENTER = "/usr/bin/nsenter"
IP = "/usr/sbin/ip"


def host_veths():
    """Host-side veths of the bench user's containers (both helpers name them veth<uid>_…)."""
    prefix = f"veth{os.getuid()}_"
    return sorted(n for n in os.listdir("/sys/class/net") if n.startswith(prefix))


def config_net(path):
    """The effective lxc.net.0.* keys of a container config (the last value of each key)."""
    net = {}
    with open(path) as f:
        for line in f:
            k, sep, v = line.partition("=")
            k = k.strip()
            if sep and k.startswith("lxc.net.0."):
                net[k[len("lxc.net.0."):]] = v.strip()
    return net


def phase_veth(b):
    """Start to RUNNING of the same busybox container with `lxc.net.0.type = empty` and
    with a veth on lxcbr0, for lxu and LXC, all four in one alternating loop."""
    L, C = b.p("lxu"), b.p("lxc")
    empty, veth = PREFIX + "ve", PREFIX + "vv"
    b.run(b.lxu_cmd("create", L, empty, "-t", "busybox", "-f", b.p("net-lxu.conf")))
    b.run(b.lxu_cmd("create", L, veth, "-t", "busybox", "-f", b.p("veth-lxu.conf")))
    b.run(b.lxc_cmd("create", C, empty, "-t", "busybox", "-f", b.p("net-lxc.conf")))
    b.run(b.lxc_cmd("create", C, veth, "-t", "busybox", "-f", b.p("veth-lxc.conf")))
    nets = {f"{tool} {n}": config_net(os.path.join(path, n, "config"))
            for tool, path in (("lxu", L), ("lxc", C)) for n in (empty, veth)}
    b.result["net_config"] = nets
    for tool in ("lxu", "lxc"):
        v, e = nets[f"{tool} {veth}"], nets[f"{tool} {empty}"]
        if (v.get("type"), v.get("link"), v.get("flags")) != ("veth", "lxcbr0", "up") or "xx" in v.get("hwaddr", "xx"):
            b.result["anomalies"].append(f"{tool}: the veth container's config has lxc.net.0 = {v}")
        if e.get("type") != "empty":
            b.result["anomalies"].append(f"{tool}: the empty container's config has lxc.net.0 = {e}")
    before = host_veths()
    b.result["host_veths_before"] = before
    b.wait_idle()

    def eth0_seen(tool, argv):
        # Once, right after the first start that returned: is the device already in the
        # container? (Read through attach, a few ms later.)
        key = f"{tool}_eth0_after_start"
        if b.warming and key not in b.result:
            out = b.run(argv, check=False)
            b.result[key] = "eth0:" in out

    def lxu_start(n):
        def f():
            ns = b.timed(b.lxu_cmd("start", L, n))
            b.expect(f"lxu start {n} returned", b.lxu_state(L, n), "RUNNING")
            if n == veth:
                eth0_seen("lxu", b.lxu_cmd("attach", L, n, "--", BUSYBOX, "cat", "/proc/net/dev"))
            time.sleep(SETTLE_S)
            return ns
        return f

    def lxu_stop(n):
        return lambda: b.timed(b.lxu_cmd("stop", L, n, "-k"))

    def lxc_start(n):
        def f():
            ns = b.timed(b.lxc_cmd("start", C, n), b.lxc_cmd("wait", C, n, "-s", "RUNNING"))
            if n == veth:
                eth0_seen("lxc", b.lxc_cmd("attach", C, n, "--", BUSYBOX, "cat", "/proc/net/dev"))
            time.sleep(SETTLE_S)
            return ns
        return f

    def lxc_stop(n):
        def f():
            ns = b.timed(b.lxc_cmd("stop", C, n, "-k"))
            b.expect(f"lxc-stop -k {n} returned", b.lxc_state(C, n), "STOPPED")
            return ns
        return f

    b.loop([("lxu_empty", lxu_start(empty)), ("lxu_empty_stop", lxu_stop(empty)),
            ("lxu_veth", lxu_start(veth)), ("lxu_veth_stop", lxu_stop(veth)),
            ("lxc_empty", lxc_start(empty)), ("lxc_empty_stop", lxc_stop(empty)),
            ("lxc_veth", lxc_start(veth)), ("lxc_veth_stop", lxc_stop(veth))])
    time.sleep(0.5)
    left = [n for n in host_veths() if n not in before]
    b.result["host_veths_left"] = left
    if left:
        b.result["anomalies"].append(f"host veths left after the containers stopped: {left}")


def phase_usernic(b):
    """`<helper> create LXCPATH NAME PID veth lxcbr0` into a network namespace the bench
    user owns: lxu-user-nic vs LXC's lxc-user-nic, alternating; each veth is deleted
    (untimed) before the next create."""
    helper = b.a.lxu_user_nic
    for h in (helper, LXC_USER_NIC):
        if not os.access(h, os.X_OK):
            b.result["skip"] = f"{h} is not installed"
            return
    path, name = b.p("nic"), PREFIX + "nic"
    os.makedirs(path, exist_ok=True)
    # The namespace lives as long as this phase holds the pipe: `read` ends at EOF, also
    # when the phase is killed. $W in its command line lets bench/run find it.
    r, w = os.pipe()
    actions = [(os.POSIX_SPAWN_DUP2, r, 0), (os.POSIX_SPAWN_DUP2, b.null, 1),
               (os.POSIX_SPAWN_DUP2, b.log, 2)]
    holder = os.posix_spawn(UNSHARE, [UNSHARE, "-Urn", "/bin/sh", "-c", "read _", b.p("nsholder")],
                            os.environ, file_actions=actions)
    os.close(r)
    try:
        own = os.readlink("/proc/self/ns/net")
        deadline = time.monotonic() + 5
        while True:
            try:
                if os.readlink(f"/proc/{holder}/ns/net") != own:
                    with open(f"/proc/{holder}/comm") as f:
                        if f.read().strip() == "sh":
                            break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise Failed("the network namespace holder (`unshare -Urn sh`) did not start")
            time.sleep(0.01)
        netns = f"/proc/{holder}/ns/net"
        before = host_veths()
        outputs = {}

        def created(tool, out):
            # `<container nic>:<its ifindex>:<host nic>:<its ifindex>`, as LXC prints it.
            parts = out.strip().split(":")
            if len(parts) != 4:
                raise Failed(f"{tool}: unexpected output `{out.strip()}`")
            outputs.setdefault(tool, out.strip())
            return parts[0], parts[2]

        state = {}

        def lxu_create():
            ns, out = b.timed_output([helper, "create", path, name, str(holder), "veth", "lxcbr0"])
            state["lxu"] = created("lxu", out)
            return ns

        def lxu_delete():
            return b.timed([helper, "delete", path, name, netns, "veth", "lxcbr0", state["lxu"][1]])

        def lxc_create():
            ns, out = b.timed_output([LXC_USER_NIC, "create", path, name, str(holder), "veth", "lxcbr0"])
            state["lxc"] = created("lxc", out)
            return ns

        def lxc_delete():
            # LXC 5's helper deletes only Open vSwitch ports ("Deletion of non ovs type
            # network devices not implemented"); the namespace's owner deletes the veth.
            b.run([NSENTER, "-t", str(holder), "-U", "-n", "--preserve-credentials",
                   IP, "link", "del", state["lxc"][0]])

        b.wait_idle()
        b.loop([("lxu", lxu_create), ("lxu_delete", lxu_delete), ("lxc", lxc_create), (None, lxc_delete)])
        b.result["outputs"] = outputs
        left = [n for n in host_veths() if n not in before]
        if left:
            b.result["anomalies"].append(f"host veths left after the deletes: {left}")
    finally:
        os.close(w)
        os.waitpid(holder, 0)


# -- Debian image: create from a filled cache, and verify + unpack throughput --------------

DL_NAME = PREFIX + "dl"
DL_CREATE = PREFIX + "dlc"
CACHE_HIT = "Using image from local cache"


def dl_conf(b):
    with open(b.p("dl.json")) as f:
        return json.load(f)


def dl_env(tool, c):
    """Each tool its own cache base (both honour LXC_CACHE_PATH and would otherwise
    share one cache dir) and its way to trust the server's CA."""
    env = dict(os.environ)
    if tool == "lxu":
        env.update(SSL_CERT_FILE=c["ca"], LXC_CACHE_PATH=c["cache_lxu"])
    else:
        env.update(WGETRC=c["wgetrc"], LXC_CACHE_PATH=c["cache_lxc"])
    return env


def dl_create(b, tool, c, name):
    sel = ["--server", c["server"], "-d", "debian", "-r", c["release"], "-a", c["arch"]]
    if tool == "lxu":
        return b.lxu_cmd("create", c["lxu_path"], name, "-t", "download", "-f", b.p("net-lxu.conf"),
                         "--", *sel, "--keyring", c["keyring"])
    return b.lxc_cmd("create", c["lxc_path"], name, "-t", "download", "-f", b.p("net-lxc.conf"), "--", *sel)


def cache_files(base, c):
    d = os.path.join(base, "download", "debian", c["release"], c["arch"], "default")
    try:
        names = sorted(os.listdir(d))
    except OSError:
        return {}
    out = {}
    for n in names:
        st = os.lstat(os.path.join(d, n))
        out[n] = [st.st_ino, st.st_size, st.st_mtime_ns]
    return out


def phase_dl_fill(b):
    """One `create -t download` per tool, each filling its cache from the server; the
    containers stay for bench/run to compare as root."""
    c = dl_conf(b)
    for tool in ("lxu", "lxc"):
        out_path = b.p("log", f"dl-fill-{tool}.out")
        fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            b.result[f"{tool}_fill_ns"] = b.timed(dl_create(b, tool, c, DL_NAME), env=dl_env(tool, c), out=fd)
        finally:
            os.close(fd)
        with open(out_path, errors="replace") as f:
            text = f.read()
        b.result[f"{tool}_fill_downloaded"] = "Downloading the rootfs" in text
        if "Downloading the rootfs" not in text:
            b.result["anomalies"].append(f"{tool}: the cache-filling create did not download the rootfs")


def tree_listing(root):
    """{relative path: (type, size, mode, uid, gid, link target)}, without following links."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            kind = ("d" if os.path.isdir(p) and not os.path.islink(p) else
                    "l" if os.path.islink(p) else "f" if os.path.isfile(p) else "o")
            out[os.path.relpath(p, root)] = (kind, st.st_size if kind == "f" else 0, st.st_mode & 0o7777,
                                             st.st_uid, st.st_gid, os.readlink(p) if kind == "l" else "")
    return out


def phase_dl_trees(b):
    """(root) The two trees the cache-filling creates unpacked: entries, bytes, and every
    entry's type, size, mode, owner and link target compared."""
    c = dl_conf(b)
    trees = {}
    for tool, path in (("lxu", c["lxu_path"]), ("lxc", c["lxc_path"])):
        root = os.path.join(path, DL_NAME, "rootfs")
        if not os.path.isdir(root):
            raise Failed(f"{tool}: no rootfs at {root}")
        trees[tool] = tree_listing(root)
        b.result[tool] = {"entries": len(trees[tool]),
                          "file_bytes": sum(v[1] for v in trees[tool].values())}
    a, z = trees["lxu"], trees["lxc"]
    differ = sorted(k for k in set(a) | set(z) if a.get(k) != z.get(k))
    b.result["differing_entries"] = len(differ)
    b.result["differing_examples"] = [f"{k}: lxu {a.get(k)} vs lxc {z.get(k)}" for k in differ[:5]]
    if differ:
        b.result["anomalies"].append(f"the unpacked trees differ in {len(differ)} entries, e.g. "
                                     + "; ".join(b.result["differing_examples"]))


def create_cost_us(b, n=1000):
    """Microseconds per empty-file create in the work dir: on this VM's ext4 it swings
    between ~10 and ~350 µs from minute to minute, and an image unpack creates thousands."""
    d = b.p(f"fs-probe-{time.monotonic_ns()}")
    os.mkdir(d)
    t0 = time.perf_counter_ns()
    for i in range(n):
        os.close(os.open(os.path.join(d, str(i)), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    us = (time.perf_counter_ns() - t0) / n / 1000
    shutil.rmtree(d)
    return round(us, 1)


def phase_dl_create(b):
    """`create -t download` of the Debian image from each tool's filled cache, each
    followed by an untimed destroy."""
    c = dl_conf(b)
    b.run(b.lxu_cmd("destroy", c["lxu_path"], DL_NAME))
    b.run(b.lxc_cmd("destroy", c["lxc_path"], DL_NAME))
    caches = {"lxu": c["cache_lxu"], "lxc": c["cache_lxc"]}
    before = {t: cache_files(base, c) for t, base in caches.items()}
    outs = {t: os.open(b.p("log", f"dl-create-{t}.out"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            for t in caches}
    # Each create makes a new container and all are destroyed after the loop: on this
    # VM's journal-less ext4 the inode allocator walks every inode freed in the last
    # minutes (`recently_deleted`), so a create right after destroying a 6700-entry tree
    # pays ~2 s more whichever tool makes it (see the notes).
    made = {"lxu": [], "lxc": []}

    def create(tool):
        def f():
            name = f"{DL_CREATE}{len(made[tool])}"
            made[tool].append(name)
            return b.timed(dl_create(b, tool, c, name), env=dl_env(tool, c), out=outs[tool])
        return f

    b.wait_idle()
    try:
        b.loop([("lxu", create("lxu")), ("lxc", create("lxc"))], warmup=1, runs=b.a.heavy_runs)
    finally:
        for fd in outs.values():
            os.close(fd)
        for name in made["lxu"]:
            b.run(b.lxu_cmd("destroy", c["lxu_path"], name), check=False)
        for name in made["lxc"]:
            b.run(b.lxc_cmd("destroy", c["lxc_path"], name), check=False)
    b.result["file_create_us"] = [create_cost_us(b)]
    creates = 1 + b.a.heavy_runs
    for tool in caches:
        with open(b.p("log", f"dl-create-{tool}.out"), errors="replace") as f:
            text = f.read()
        after = cache_files(caches[tool], c)
        b.result[f"{tool}_cache"] = {
            "creates": creates,
            "cache_hits": text.count(CACHE_HIT),
            "downloads": text.count("Downloading the rootfs"),
            "index_fetches": text.count("Downloading the image index"),
            "cache_files_unchanged": before[tool] == after,
            "cache_files": sorted(after),
        }
        if text.count(CACHE_HIT) != creates or "Downloading" in text:
            b.result["anomalies"].append(f"{tool}: {text.count(CACHE_HIT)} of {creates} creates said "
                                         f"`{CACHE_HIT}`; downloads: {text.count('Downloading the rootfs')}")


def xz_sizes(b, path):
    """(compressed bytes, uncompressed bytes, blocks) from `xz --robot --list`."""
    for line in b.run(["/usr/bin/xz", "--robot", "--list", path]).splitlines():
        f = line.split("\t")
        if f[0] == "totals":
            return int(f[3]), int(f[4]), int(f[2])
    raise Failed(f"xz --robot --list {path}: no totals line")


def phase_throughput(b):
    """Verify + decompress + unpack of the Debian rootfs.tar.xz as root of a user
    namespace mapping the bench user's subordinate ids (where both tools' creates do
    it): lxu's library calls vs `gpg --verify` then `tar -xJf`, alternating."""
    c = dl_conf(b)
    unpacker = c.get("unpacker")
    if not unpacker or not os.access(unpacker, os.X_OK):
        b.result["skip"] = c.get("unpacker_skip") or "the lxu-bench-unpack program was not built"
        return
    if os.getuid() != 0:
        raise Failed("expected to run as root of a user namespace (`unshare --map-auto --map-root-user`)")
    with open("/proc/self/uid_map") as f:
        b.result["uid_map"] = " | ".join(" ".join(ln.split()) for ln in f)
    tarball, sig, key = c["tarball"], c["tarball"] + ".asc", c["keyring"]
    tp = b.p("tp")
    os.makedirs(tp, exist_ok=True)
    gnupg = os.path.join(tp, "gnupg")
    os.mkdir(gnupg, 0o700)
    genv = dict(os.environ, GNUPGHOME=gnupg)
    gpg = ["/usr/bin/gpg", "--batch", "--no-autostart", "--no-tty"]
    b.run([*gpg, "--quiet", "--import", key], env=genv)
    excludes = os.path.join(tp, "excludes-user")
    with open(excludes, "w") as f:
        f.write(b.run(["/usr/bin/tar", "-xOJf", c["meta"], "excludes-user"]))
    xz_bytes, tar_bytes, blocks = xz_sizes(b, tarball)
    b.result.update(xz_bytes=xz_bytes, tar_bytes=tar_bytes, xz_blocks=blocks, cpus=os.cpu_count())
    dest = {t: os.path.join(tp, t) for t in ("lxu", "tar", "tar_mt")}
    tar = ["/usr/bin/tar", "--anchored", f"--exclude-from={excludes}", "--numeric-owner", "-xp"]

    def fresh(d):
        if os.path.exists(d):
            shutil.rmtree(d)
        os.mkdir(d)

    def lxu():
        fresh(dest["lxu"])
        ns, out = b.timed_output([unpacker, key, tarball, sig, dest["lxu"], excludes])
        stats = json.loads(out)
        if not b.warming:
            b.result.setdefault("lxu_verify", []).append(stats["verify_ns"])
            b.result.setdefault("lxu_unpack", []).append(stats["unpack_ns"])
        b.result["lxu_stats"] = stats
        return ns

    def peer():
        fresh(dest["tar"])
        v = b.timed([*gpg, "--verify", sig, tarball], env=genv)
        t = b.timed([*tar, "-Jf", tarball, "-C", dest["tar"]])
        if not b.warming:
            b.result.setdefault("gpg_verify", []).append(v)
            b.result.setdefault("tar_xJf", []).append(t)
        return v + t

    def tar_mt():
        # Reference: the same tar with xz decoding on every CPU (lxu decodes the
        # image's xz blocks in parallel; tar -J runs a single-threaded `xz -d`).
        fresh(dest["tar_mt"])
        return b.timed([*tar, "--use-compress-program=xz -T0", "-f", tarball, "-C", dest["tar_mt"]])

    b.wait_idle()
    b.result["file_create_us"] = [create_cost_us(b)]
    b.loop([("lxu", lxu), ("peer", peer), ("tar_mt", tar_mt)], warmup=1, runs=b.a.heavy_runs)
    b.result["file_create_us"].append(create_cost_us(b))
    # The trees must match, or the race is not fair.
    a, z = tree_listing(dest["lxu"]), tree_listing(dest["tar"])
    differ = sorted(k for k in set(a) | set(z) if a.get(k) != z.get(k))
    b.result["trees"] = {"lxu_entries": len(a), "tar_entries": len(z), "differing": len(differ),
                         "examples": [f"{k}: lxu {a.get(k)} vs tar {z.get(k)}" for k in differ[:5]]}
    if differ:
        b.result["anomalies"].append(f"lxu's and tar's trees differ in {len(differ)} entries: "
                                     + "; ".join(b.result["trees"]["examples"]))
    for d in dest.values():
        shutil.rmtree(d, ignore_errors=True)


# -- report (root) --------------------------------------------------------------------------


def ms(ns):
    return ns / 1e6


def fmt_ms(values):
    if not values:
        return "—"
    m = statistics.median(values)
    return f"{ms(m):.1f} ms ({ms(min(values)):.1f}–{ms(max(values)):.1f})"


def fmt_kb(values):
    if not values:
        return "—"
    return f"{statistics.median(values):.0f} kB ({min(values)}–{max(values)})"


def diffs(a, b):
    """Per-iteration differences a[i] - b[i]."""
    return [a[i] - b[i] for i in range(min(len(a), len(b)))]


def fmt_delta(values):
    if not values:
        return "—"
    m = statistics.median(values)
    return f"{ms(m):+.1f} ms ({ms(min(values)):+.1f} to {ms(max(values)):+.1f})"


def fmt_rate(nbytes, values):
    """MB/s (10^6 bytes) of nbytes at the median time, then the times."""
    if not values:
        return "—"
    return f"{nbytes / 1e6 / (statistics.median(values) / 1e9):.0f} MB/s ({fmt_ms(values)})"


def yes_no(v):
    return "?" if v is None else ("yes" if v else "no")


def pair_ratio(a, b):
    n = min(len(a), len(b))
    return statistics.median(a[i] / b[i] for i in range(n)) if n else None


def load(results, phase):
    try:
        with open(os.path.join(results, f"{phase}.json")) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def write_md(md, notes, path):
    """The markdown lines with the notes as a list after them, written to `path` if set."""
    if notes:
        md.append("Notes:\n")
        md.extend(f"- {n}" for n in notes)
        md.append("")
    text = "\n".join(md)
    if path:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    return text


def phase_report(a):
    R = {p: load(a.results, p) for p in ("cycle", "create", "ls", "attach", "memory", "crun", "ls-prep", "veth",
                                         "usernic", "dl-fill", "dl-trees", "dl-create", "throughput")}
    info = {}
    if os.path.exists(os.path.join(a.results, "info.json")):
        with open(os.path.join(a.results, "info.json")) as f:
            info = json.load(f)
    rows, notes = [], []

    def unavailable(phase):
        r = R.get(phase)
        if r is None:
            return "not run"
        if r.get("error"):
            return "failed: " + r["error"]
        if r.get("skip"):
            return "skipped: " + r["skip"]
        return None

    def timing_row(what, phase, mine, peer, target, target_text):
        why = unavailable(phase)
        if why:
            rows.append([what, why, "", "", target_text, "—"])
            return
        s = R[phase]["series"]
        ratio = pair_ratio(s[mine], s[peer])
        met = "—" if target is None else ("met" if ratio <= target else "not met")
        rows.append([what, fmt_ms(s[mine]), fmt_ms(s[peer]), f"{ratio:.2f}×", target_text, met])

    timing_row("start to RUNNING: lxu `start` vs LXC `lxc-start` + `lxc-wait -s RUNNING`",
               "cycle", "lxu_start", "lxc_start", 1 / 3, "≤ 0.33× LXC")
    timing_row("start to RUNNING: lxu `start` vs floor `unshare -Urpf --mount-proc true`",
               "cycle", "lxu_start", "floor", 3, "≤ 3× floor")
    timing_row("stop -k: lxu `stop -k` vs `lxc-stop -k`", "cycle", "lxu_stop", "lxc_stop", None, "—")
    timing_row("create -t busybox: lxu `create` vs `lxc-create`", "create", "lxu", "lxc", 0.25, "≤ 0.25× LXC")
    timing_row(f"ls --fancy, {LS_COUNT} containers (1 running): lxu `ls` vs `lxc-ls`",
               "ls", "lxu", "lxc", 0.5, "≤ 0.5× LXC")
    timing_row("attach -- /bin/true: lxu `attach` vs `lxc-attach`", "attach", "lxu", "lxc", 0.5, "≤ 0.5× LXC")
    timing_row("attach -- /bin/true: lxu `attach` vs floor", "attach", "lxu", "floor", 1.5, "≤ 1.5× floor")

    # -- the network rows (issue 5) --
    timing_row("start to RUNNING with a veth on lxcbr0: lxu `start` vs LXC `lxc-start` + `lxc-wait`",
               "veth", "lxu_veth", "lxc_veth", None, "—")
    what = "extra start latency of a veth (veth − empty, per iteration): lxu vs LXC"
    why = unavailable("veth")
    if why:
        rows.append([what, why, "", "", "—", "—"])
    else:
        s = R["veth"]["series"]
        extra = {t: diffs(s[f"{t}_veth"], s[f"{t}_empty"]) for t in ("lxu", "lxc")}
        m = {t: statistics.median(extra[t]) for t in extra}
        ratio = f"{m['lxu'] / m['lxc']:.2f}× (of medians)" if m["lxc"] > 0 else "—"
        rows.append([what, fmt_delta(extra["lxu"]), fmt_delta(extra["lxc"]), ratio, "—", "—"])
    timing_row("nic helper alone: `lxu-user-nic create … veth lxcbr0` vs LXC's `lxc-user-nic create …`",
               "usernic", "lxu", "lxc", None, "—")

    # -- the image rows (issue 3) --
    dl_trees = R.get("dl-trees") or {}
    tar_mb = (R.get("throughput") or {}).get("tar_bytes")
    size = f", {tar_mb / 1e6:.0f} MB tar" if tar_mb else ""
    timing_row(f"create -t download from a filled cache (Debian bookworm minbase{size}): "
               "lxu `create` vs `lxc-create`", "dl-create", "lxu", "lxc", 0.5, "≤ 0.5× LXC")
    what = ("verify + decompress + unpack, Debian rootfs.tar.xz (MB/s of tar): lxu vs `gpg --verify` + "
            "`tar -xJf`")
    why = unavailable("throughput")
    if why:
        rows.append([what, why, "", "", "—", "—"])
    else:
        t = R["throughput"]
        s = t["series"]
        rows.append([what, fmt_rate(t["tar_bytes"], s["lxu"]), fmt_rate(t["tar_bytes"], s["peer"]),
                     f"{pair_ratio(s['peer'], s['lxu']):.2f}× (MB/s)", "—", "—"])

    why = unavailable("memory")
    for key, label in (("VmRSS", "VmRSS"), ("Pss", "Pss")):
        what = f"monitor {label} per running container ({MEM_COUNT} running): `lxu-monitor` vs `[lxc monitor]`"
        if why:
            rows.append([what, why, "", "", "lxu < 2 MiB", "—"])
            continue
        mine = [r[key] for r in R["memory"]["lxu"]]
        peer = [r[key] for r in R["memory"]["lxc"]]
        m = statistics.median(mine)
        rows.append([what, fmt_kb(mine), fmt_kb(peer), f"{m / statistics.median(peer):.2f}×",
                     "lxu < 2 MiB (2048 kB)", "met" if m < 2048 else "not met"])

    why = unavailable("crun")
    what = "reference: `crun run` rootless /bin/true (start+exit) vs lxu start to RUNNING"
    if why:
        rows.append([what, why, "", "", "—", "—"])
    else:
        s = R["crun"]["series"]
        lxu_start = (R.get("cycle") or {}).get("series", {}).get("lxu_start", [])
        ratio = (f"{statistics.median(lxu_start) / statistics.median(s['crun']):.2f}× (of medians)"
                 if lxu_start else "—")
        rows.append([what, fmt_ms(lxu_start), fmt_ms(s["crun"]), ratio, "—", "—"])
        notes.append(f"crun vs the floor in the same (v2-less) mount namespace: crun {fmt_ms(s['crun'])}, "
                     f"floor {fmt_ms(s['floor'])}, {pair_ratio(s['crun'], s['floor']):.2f}× floor.")

    a_s = (R.get("attach") or {}).get("series", {})
    if a_s.get("lxu_warm") and not unavailable("attach"):
        notes.append(f"`lxu attach` right after another one: {fmt_ms(a_s['lxu_warm'])} (vs {fmt_ms(a_s['lxu'])} "
                     "cold). Cold, the idle monitor is slower to answer (an idle vCPU wakes up), and lxu "
                     "also moves the command into the container's v1 cgroups (from the parent, while "
                     "the child joins the namespaces), which LXC here, with no cgroups, never does. "
                     "Every measured iteration starts after a quiet 0.2 s, i.e. cold, as a user's "
                     "command would.")
    # Context that changes how to read the figures.
    if R.get("memory") and not R["memory"].get("error"):
        m = R["memory"]
        cgs = {t: (m[t][0]["init_cgroup"] if m[t] else []) for t in ("lxu", "lxc")}
        notes.append("cgroups of the containers (a start with cgroups costs more): lxu `{}`, LXC `{}`. "
                     "`lxu setup-user` delegated v1 cgroups to the bench user; LXC, started from root's "
                     "cgroup, finds no writable hierarchy and runs without any (peers.md measured LXC with "
                     "delegated v1 cgroups at 29.8 ms start to RUNNING and 20.9 ms stop -k, against "
                     "22.5 and 3.9 ms without).".format(
                         " ".join(cgs["lxu"]) or "?", " ".join(cgs["lxc"]) or "?"))
        for tool in ("lxu", "lxc"):
            top = max(m[tool], key=lambda r: r["Pss"], default=None)
            if top:
                notes.append(f"largest {tool} monitor: {top['name']} (VmRSS {top['VmRSS']} kB, Pss {top['Pss']} kB).")
        notes.append("monitor Pss_Anon median: lxu {:.0f} kB, LXC {:.0f} kB; threads: lxu {}, LXC {}.".format(
            statistics.median(r["Pss_Anon"] for r in m["lxu"]), statistics.median(r["Pss_Anon"] for r in m["lxc"]),
            m["lxu"][0]["Threads"], m["lxc"][0]["Threads"]))
    if R.get("ls-prep") and "lxu_create_all_ns" in R["ls-prep"]:
        notes.append(f"{LS_COUNT} × `lxu create -t busybox` one after the other (setup of the ls row): "
                     f"{ms(R['ls-prep']['lxu_create_all_ns']) / 1000:.1f} s; LXC's {LS_COUNT - 1} others are "
                     f"root `cp -a` copies of one `lxc-create` ({info.get('lxc_copy_s', '?')} s).")
    # -- notes for the network rows --
    v = R.get("veth") or {}
    if v.get("series") and not unavailable("veth"):
        s = v["series"]
        notes.append("veth rows: the same busybox containers with `lxc.net.0.type = empty` and with "
                     "`veth` / `link = lxcbr0` / `flags = up` / `hwaddr = 00:16:3e:xx:xx:xx`, started in one "
                     f"alternating loop: lxu empty {fmt_ms(s['lxu_empty'])}, veth {fmt_ms(s['lxu_veth'])}; "
                     f"LXC empty {fmt_ms(s['lxc_empty'])}, veth {fmt_ms(s['lxc_veth'])}. "
                     f"stop -k: lxu empty {fmt_ms(s['lxu_empty_stop'])}, veth {fmt_ms(s['lxu_veth_stop'])}; "
                     f"LXC empty {fmt_ms(s['lxc_empty_stop'])}, veth {fmt_ms(s['lxc_veth_stop'])}. "
                     "eth0 inside the container right after the first start returned (read via attach): "
                     f"lxu {yes_no(v.get('lxu_eth0_after_start'))}, LXC {yes_no(v.get('lxc_eth0_after_start'))}.")
    if info.get("usernet"):
        notes.append("the bench user's nic databases (`/run/lxu/nics`, `/run/lxc/nics`; live = the host "
                     f"device exists; allowance {info.get('usernet_allowance', '?')}): {info['usernet']}.")
    u = R.get("usernic") or {}
    if u.get("series") and not unavailable("usernic"):
        s = u["series"]
        outs = u.get("outputs", {})
        notes.append("nic helper row: both setuid helpers run as the bench user against a network namespace "
                     "it owns (`unshare -Urn`), each create followed by an untimed delete. "
                     f"`lxu-user-nic delete`: {fmt_ms(s['lxu_delete'])}. LXC 5's `lxc-user-nic delete` "
                     "refuses a veth (\"Deletion of non ovs type network devices not implemented\"), so the "
                     "namespace's owner deletes it (`nsenter … ip link del`). Outputs: lxu `"
                     f"{outs.get('lxu', '?')}`, LXC `{outs.get('lxc', '?')}`.")
    # -- notes for the image rows --
    if info.get("debian_image"):
        notes.append(f"Debian image: {info['debian_image']}.")
    f = R.get("dl-fill") or {}
    d = R.get("dl-create") or {}
    if f.get("lxu_fill_ns") and f.get("lxc_fill_ns"):
        notes.append(f"cache-filling creates (index + download over HTTPS on loopback + unpack): lxu "
                     f"{ms(f['lxu_fill_ns']) / 1000:.2f} s, LXC {ms(f['lxc_fill_ns']) / 1000:.2f} s (one each).")
    if d.get("lxu_cache") and not unavailable("dl-create"):
        bits = []
        for tool, label in (("lxu", "lxu"), ("lxc", "LXC")):
            c = d[f"{tool}_cache"]
            bits.append(f"{label}: {c['cache_hits']} of {c['creates']} creates used the cache, "
                        f"{c['downloads']} downloaded, {c['index_fetches']} fetched the index, cache files "
                        f"{'unchanged' if c['cache_files_unchanged'] else 'CHANGED'}")
        notes.append("download creates: " + "; ".join(bits) + ". lxu re-verifies the OpenPGP signatures of "
                     "the cached rootfs.tar.xz and meta.tar.xz at every create that uses the cache; LXC 5.0.2 "
                     "has no GPG and only compares build_id and expiry. lxu: `-f` a file with `lxc.net.0.type "
                     "= empty` (added to default.conf) and `--keyring` the bench key; LXC: `-f` the id map + "
                     "`empty` (it replaces default.conf) and WGETRC with the server's CA.")
        tb = (R.get("throughput") or {}).get("tar_bytes")
        if tb:
            s = d["series"]
            notes.append("whole `create -t download` from the cache as a rate over the tar data: lxu "
                         f"{tb / 1e6 / (statistics.median(s['lxu']) / 1e9):.0f} MB/s, LXC "
                         f"{tb / 1e6 / (statistics.median(s['lxc']) / 1e9):.0f} MB/s.")
    probes = [f"{p} {' → '.join(str(v) for v in (R.get(p) or {}).get('file_create_us', []))} µs"
              for p in ("dl-create", "throughput") if (R.get(p) or {}).get("file_create_us")]
    if probes:
        notes.append("cost of creating one empty file in the work dir, after the create row and before → after "
                     "the throughput row (this VM's ext4 has no journal, so its inode allocator skips every inode "
                     "freed in the last minutes, one by one: a create right after a destroy of a 6700-entry tree "
                     "pays ~300 µs per entry instead of ~10, whichever tool makes it; so the create row destroys "
                     "its containers only after the loop): " + ", ".join(probes) + ".")
    if dl_trees.get("lxu") and not unavailable("dl-trees"):
        notes.append("the two download-created trees (checked once, as root): lxu {} entries, {} bytes of "
                     "files; LXC {} entries, {} bytes; entries differing in type, size, mode, owner or link "
                     "target: {}.".format(dl_trees["lxu"]["entries"], dl_trees["lxu"]["file_bytes"],
                                          dl_trees["lxc"]["entries"], dl_trees["lxc"]["file_bytes"],
                                          dl_trees["differing_entries"]))
    t = R.get("throughput") or {}
    if t.get("series") and not unavailable("throughput"):
        s = t["series"]
        notes.append(
            "throughput row: as root of a user namespace mapping the bench user's subordinate ids "
            f"(`unshare --map-auto --map-root-user`, uid_map `{t.get('uid_map', '?')}`), where both tools' "
            "creates unpack, so both apply owners; {xz:.1f} MB .xz in {blocks} blocks, {tar:.1f} MB tar, {cpus} "
            "CPUs; both with the image's excludes-user. lxu = the library calls `lxu create` makes on a cached "
            "image (`Keyring::verify_file`, then `unpack_file`), in bench/throughput, built with the "
            "workspace's release profile: verify {lv} ({lvr:.0f} MB/s of .xz), decompress+unpack {lu}. "
            "Peer: `gpg --verify` {gv}, `tar --anchored --exclude-from --numeric-owner -xpJf` {tx}; the same "
            "tar with `xz -T0` (parallel decoding, reference) {tm} = {tmr:.0f} MB/s. lxu's and tar's trees: "
            "{diff} entries differ.".format(
                xz=t["xz_bytes"] / 1e6, blocks=t["xz_blocks"], tar=t["tar_bytes"] / 1e6, cpus=t.get("cpus", "?"),
                lv=fmt_ms(t.get("lxu_verify", [])),
                lvr=t["xz_bytes"] / 1e6 / (statistics.median(t["lxu_verify"]) / 1e9) if t.get("lxu_verify") else 0,
                lu=fmt_ms(t.get("lxu_unpack", [])), gv=fmt_ms(t.get("gpg_verify", [])),
                tx=fmt_ms(t.get("tar_xJf", [])), tm=fmt_ms(s.get("tar_mt", [])),
                tmr=t["tar_bytes"] / 1e6 / (statistics.median(s["tar_mt"]) / 1e9) if s.get("tar_mt") else 0,
                diff=t.get("trees", {}).get("differing", "?")))
    idle_bits = []
    for p in ("cycle", "create", "ls", "attach", "memory", "crun", "veth", "usernic", "dl-create", "throughput"):
        for idle in (R.get(p) or {}).get("idle", []):
            idle_bits.append(f"{p} {idle['idle_pct']:.0f}%" + ("" if idle["reached"] else
                             f" (busy: gave up after {idle['waited_s']:.0f} s)"))
    if idle_bits:
        notes.append("idle CPU in the second before each block: " + ", ".join(idle_bits) + ".")
    busy = [f"{p} {R[p]['busy_iterations']}" for p in ("cycle", "create", "ls", "attach", "crun", "veth", "usernic",
                                                      "dl-create", "throughput")
            if (R.get(p) or {}).get("busy_iterations")]
    notes.append("measured iterations that began on a busy CPU (no quiet 0.2 s within "
                 f"{info.get('gate_max', 10)} s): " + (", ".join(busy) if busy else "none") + ".")
    for p in ("cycle", "create", "ls-prep", "ls", "attach", "memory", "crun", "veth", "usernic", "dl-fill",
              "dl-trees", "dl-create", "throughput"):
        r = R.get(p) or {}
        for an in r.get("anomalies", []):
            notes.append(f"anomaly ({p}): {an}")
    for line in info.get("leftovers", []):
        notes.append(f"left behind by lxu/LXC after stop (removed by the bench): {line}")

    header = ["What", "lxu median (min–max)", "peer median (min–max)", "ratio lxu/peer", "target", "met?"]
    md = []
    md.append("# lxu benchmark results\n")
    md.append(f"Run {info.get('date', datetime.datetime.now().isoformat(timespec='seconds'))} by `bench/run`"
              f"{' --quick' if info.get('quick') else ''} as `{info.get('user', '?')}`; "
              f"{info.get('runs', '?')} runs per figure after {info.get('warmup', '?')} warm-up "
              f"(create: 1); the rows that unpack the Debian image: {info.get('heavy_runs', '?')} runs after 1 "
              f"warm-up. Alternating A B A B; ratio = median of the per-iteration ratios (memory, veth extra "
              f"latency: ratio of medians; throughput: of MB/s, higher is better for lxu). Whole-process wall "
              f"time (perf_counter_ns around posix_spawn).\n")
    md.append(f"Host: {info.get('host', '?')}. Versions: {info.get('versions', '?')}.\n")
    md.append("| " + " | ".join(header) + " |")
    md.append("|" + "---|" * len(header))
    for r in rows:
        md.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
    md.append("")
    text = write_md(md, notes, a.md)
    # The terminal gets a plain aligned table.
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    widths[0] = min(widths[0], 78)
    print()
    for r in [header] + rows:
        print("  ".join(c.ljust(w) if i else c[:78].ljust(w) for i, (c, w) in enumerate(zip(r, widths))))
    print()
    for n in notes:
        print("- " + n)
    return 0


PHASES = {
    "cycle": phase_cycle, "create": phase_create, "ls-prep": phase_ls_prep, "ls": phase_ls,
    "attach": phase_attach, "memory": phase_memory, "crun": phase_crun,
    "veth": phase_veth, "usernic": phase_usernic, "dl-fill": phase_dl_fill, "dl-trees": phase_dl_trees,
    "dl-create": phase_dl_create, "throughput": phase_throughput,
}


def arg_parser(phases):
    """The arguments of every phase script (this one, resilience.py)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("phase", choices=[*phases, "report"])
    ap.add_argument("--work", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--lxu", default="/usr/local/bin/lxu")
    ap.add_argument("--idle-timeout", type=float, default=120)
    ap.add_argument("--idle-pct", type=float, default=85)
    ap.add_argument("--md", help="report: also write the table here")
    return ap


def main():
    ap = arg_parser(PHASES)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--heavy-runs", type=int, default=10,
                    help="runs of the rows that unpack the Debian image (seconds each)")
    ap.add_argument("--lxu-user-nic", default="/usr/local/libexec/lxu/lxu-user-nic")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--gate-max", type=float, default=10)
    a = ap.parse_args()
    if a.phase == "report":
        return phase_report(a)
    return run_phase(a, PHASES[a.phase])


def run_phase(a, fn):
    """Runs one phase function, saves RESULTS/<a.phase>.json; the exit status."""
    b = Bench(a)
    t0 = time.monotonic()
    try:
        fn(b)
    except Failed as e:
        b.result["error"] = str(e)
        print(f"bench: {a.phase}: {e}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    b.result["duration_s"] = round(time.monotonic() - t0, 1)
    b.save()
    return 1 if b.result.get("error") else 0


if __name__ == "__main__":
    sys.exit(main())
