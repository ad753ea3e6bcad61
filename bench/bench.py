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

    # -- running commands ---------------------------------------------------------------

    def spawn(self, argv):
        """Runs argv (absolute path) with stdin/stdout on /dev/null, stderr to the log."""
        actions = [
            (os.POSIX_SPAWN_DUP2, self.null, 0),
            (os.POSIX_SPAWN_DUP2, self.null, 1),
            (os.POSIX_SPAWN_DUP2, self.log, 2),
        ]
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status)

    def timed(self, *argvs):
        """Wall time in ns of running argvs one after the other; fails on a non-zero exit."""
        t0 = time.perf_counter_ns()
        for argv in argvs:
            rc = self.spawn(argv)
            if rc != 0:
                raise Failed(f"`{' '.join(argv)}` exited with {rc}{self.log_tail()}")
        return time.perf_counter_ns() - t0

    def run(self, argv, check=True):
        """Untimed; returns stdout."""
        r, w = os.pipe()
        actions = [
            (os.POSIX_SPAWN_DUP2, self.null, 0),
            (os.POSIX_SPAWN_DUP2, w, 1),
            (os.POSIX_SPAWN_DUP2, self.log, 2),
        ]
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
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

    def log_tail(self):
        try:
            with open(self.log_path, errors="replace") as f:
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

    def loop(self, steps, warmup=None):
        """Runs warm-up + measured iterations; each step is (series name or None, fn).

        fn returns ns (recorded under the name) or None (an untimed step)."""
        warmup = self.a.warmup if warmup is None else warmup
        series = self.result["series"]
        for name, _ in steps:
            if name:
                series.setdefault(name, [])
        gc.disable()
        try:
            for i in range(warmup + self.a.runs):
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
    # lxu_warm: a second lxu attach right after the first. On cgroup v1 every task
    # migration write-locks cgroup_threadgroup_rwsem, which costs an RCU grace period
    # unless another migration happened a moment before; the gate makes every measured
    # iteration start cold, as a user's command would, and lxu_warm shows the difference.
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


def pair_ratio(a, b):
    n = min(len(a), len(b))
    return statistics.median(a[i] / b[i] for i in range(n)) if n else None


def load(results, phase):
    try:
        with open(os.path.join(results, f"{phase}.json")) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def phase_report(a):
    R = {p: load(a.results, p) for p in ("cycle", "create", "ls", "attach", "memory", "crun", "ls-prep")}
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
                     "cold). On cgroup v1 each task migration (lxu moves init, and each attached "
                     "process, into the container's cgroups) write-locks the kernel's "
                     "cgroup_threadgroup_rwsem, which waits for an RCU grace period unless another "
                     "migration happened moments before; LXC here has no cgroups and never pays it. "
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
    idle_bits = []
    for p in ("cycle", "create", "ls", "attach", "memory", "crun"):
        for idle in (R.get(p) or {}).get("idle", []):
            idle_bits.append(f"{p} {idle['idle_pct']:.0f}%" + ("" if idle["reached"] else
                             f" (busy: gave up after {idle['waited_s']:.0f} s)"))
    if idle_bits:
        notes.append("idle CPU in the second before each block: " + ", ".join(idle_bits) + ".")
    busy = [f"{p} {R[p]['busy_iterations']}" for p in ("cycle", "create", "ls", "attach", "crun")
            if (R.get(p) or {}).get("busy_iterations")]
    notes.append("measured iterations that began on a busy CPU (no quiet 0.2 s within "
                 f"{info.get('gate_max', 10)} s): " + (", ".join(busy) if busy else "none") + ".")
    for p in ("cycle", "create", "ls-prep", "ls", "attach", "memory", "crun"):
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
              f"(create: 1), alternating A B A B; ratio = median of the per-iteration ratios "
              f"(memory: ratio of medians). Whole-process wall time (perf_counter_ns around posix_spawn).\n")
    md.append(f"Host: {info.get('host', '?')}. Versions: {info.get('versions', '?')}.\n")
    md.append("| " + " | ".join(header) + " |")
    md.append("|" + "---|" * len(header))
    for r in rows:
        md.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
    md.append("")
    if notes:
        md.append("Notes:\n")
        md.extend(f"- {n}" for n in notes)
        md.append("")
    text = "\n".join(md)
    if a.md:
        os.makedirs(os.path.dirname(a.md), exist_ok=True)
        with open(a.md, "w") as f:
            f.write(text)
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
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("phase", choices=[*PHASES, "report"])
    ap.add_argument("--work", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--lxu", default="/usr/local/bin/lxu")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--idle-timeout", type=float, default=120)
    ap.add_argument("--idle-pct", type=float, default=85)
    ap.add_argument("--gate-max", type=float, default=10)
    ap.add_argument("--md", help="report: also write the table here")
    a = ap.parse_args()
    if a.phase == "report":
        return phase_report(a)
    b = Bench(a)
    t0 = time.monotonic()
    try:
        PHASES[a.phase](b)
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
