#!/usr/bin/env python3
"""lxu's resilience rows (issue 16): start/stop cycles of one container with a veth, and
density (N busybox containers of one user running at once). One phase per invocation, as
bench.py; `bench/run cycles` and `bench/run density` call them.

The user phases run as the bench user; `check` and `density-mem` run as root, read only
the kernel's view (/proc, /sys, /run/lxu/nics, /run/lxc/nics) and never a path below the
user's work directory. Nothing here asserts a timing: figures go to RESULTS/<phase>.json
and `report` writes them as a table of ratios.
"""

import datetime
import gc
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench as B  # noqa: E402

PREFIX = B.PREFIX
CYCLE_NAME = PREFIX + "cy"
# A measured start is followed by this pause, so the stop meets a booted container.
SETTLE_S = 0.1
LS_RUNS = 5


def meminfo():
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = int(v.split()[0])
    return out


def host_snapshot():
    """What the host has in use, from files any user can read."""
    m = meminfo()
    with open("/proc/sys/fs/file-nr") as f:
        files = int(f.read().split()[0])
    with open("/proc/net/unix") as f:
        unix = sum(1 for _ in f) - 1
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    return {"time": time.time(), "MemAvailable": m["MemAvailable"], "Slab": m["Slab"],
            "SUnreclaim": m["SUnreclaim"], "KernelStack": m["KernelStack"], "PageTables": m["PageTables"],
            "files": files, "unix_sockets": unix, "pids": sum(1 for p in os.listdir("/proc") if p.isdigit()),
            "loadavg": " ".join(load)}


def own_files(path, name):
    """Files of a stopped container the user can see left: its socket, a `partial` marker."""
    return [f for f in ("lxu.sock", "partial") if os.path.lexists(os.path.join(path, name, f))]


def check_veth_config(b, path, name, key):
    net = B.config_net(os.path.join(path, name, "config"))
    b.result[key] = net
    if (net.get("type"), net.get("link")) != ("veth", "lxcbr0"):
        raise B.Failed(f"{name}: lxc.net.0 is {net}, expected a veth on lxcbr0 (the user's default.conf)")


def cycle_loop(b, count, start, stop, state, prefix):
    """count × (timed start: argvs run one after the other; state check; host veth count;
    pause; timed stop -k)."""
    s = b.result["series"]
    starts, stops = s.setdefault(f"{prefix}_start", []), s.setdefault(f"{prefix}_stop", [])
    # The floor (unshare) right after each start: the per-cycle ratio start / floor is less
    # moved by other work on the host than the start alone.
    floor = s.setdefault(f"{prefix}_floor", [])
    bad, veths_running, load = 0, [], []
    gc.disable()
    try:
        for i in range(count):
            starts.append(b.timed(*start))
            floor.append(b.timed(B.FLOOR))
            if state() != "RUNNING":
                bad += 1
            veths_running.append(len(B.host_veths()))
            time.sleep(SETTLE_S)
            stops.append(b.timed(stop))
            if i % 100 == 99:
                with open("/proc/loadavg") as f:
                    load.append(f.read().split()[0])
    finally:
        gc.enable()
    b.result[f"{prefix}_not_running_after_start"] = bad
    b.result[f"{prefix}_host_veths_while_running"] = sorted(set(veths_running))
    b.result[f"{prefix}_loadavg_per_100"] = load
    if bad:
        b.result["anomalies"].append(f"{prefix}: {bad} starts returned without the container RUNNING")


def phase_cycles(b):
    """N start / stop -k cycles of one lxu container with the user's default.conf (a veth on
    lxcbr0, cgroups), then LXC's for --lxc-count cycles with the same veth."""
    a = b.a
    L, C, n = b.p("lxu"), b.p("lxc"), CYCLE_NAME
    b.run([b.lxu, "create", "-P", L, "-n", n, "-t", "busybox"])
    check_veth_config(b, L, n, "lxu_net")
    before_veths = B.host_veths()
    b.result["host_veths_before"] = before_veths
    b.wait_idle()
    time.sleep(1)
    b.result["host_before"] = host_snapshot()
    cycle_loop(b, a.count, [b.lxu_cmd("start", L, n)], b.lxu_cmd("stop", L, n, "-k"),
               lambda: b.lxu_state(L, n), "lxu")
    # The kernel frees a veth with its network namespace, a moment after the last process.
    time.sleep(2)
    b.result["host_after"] = host_snapshot()
    b.result["lxu_state_after"] = b.lxu_state(L, n)
    b.result["lxu_files_left"] = own_files(L, n)
    b.result["host_veths_after_lxu"] = [v for v in B.host_veths() if v not in before_veths]
    if a.lxc_count:
        b.run(b.lxc_cmd("create", C, n, "-t", "busybox", "-f", b.p("veth-lxc.conf")))
        check_veth_config(b, C, n, "lxc_net")
        b.wait_idle()
        # lxc-start daemonizes and returns before RUNNING: timed with lxc-wait, as bench.py's
        # start row.
        cycle_loop(b, a.lxc_count, [b.lxc_cmd("start", C, n), b.lxc_cmd("wait", C, n, "-s", "RUNNING")],
                   b.lxc_cmd("stop", C, n, "-k"), lambda: b.lxc_state(C, n), "lxc")
        time.sleep(2)
        b.result["host_veths_after_lxc"] = [v for v in B.host_veths() if v not in before_veths]


def density_name(i):
    return f"{PREFIX}d{i:04d}"


def phase_density_up(b):
    """Creates N busybox containers without network and starts them one after the other
    (each start timed), then times `ls --fancy` over all of them."""
    a = b.a
    L = b.p("density")
    os.makedirs(L, exist_ok=True)
    names = [density_name(i) for i in range(a.count)]
    t0 = time.perf_counter_ns()
    conf = b.p("density.conf")
    with open(conf) as f:
        b.result["conf"] = f.read()
    for n in names:
        b.run(b.lxu_cmd("create", L, n, "-t", "busybox", "-f", conf))
    b.result["create_all_ns"] = time.perf_counter_ns() - t0
    b.wait_idle()
    time.sleep(1)
    b.result["host_before"] = host_snapshot()
    starts = b.result["series"].setdefault("start", [])
    failed = []
    t0 = time.perf_counter_ns()
    gc.disable()
    try:
        for i, n in enumerate(names):
            try:
                starts.append(b.timed(b.lxu_cmd("start", L, n)))
            except B.Failed:
                # What lxu said: the last line of the log.
                with open(b.log_path, errors="replace") as f:
                    said = (f.read().splitlines() or ["?"])[-1]
                failed.append({"index": i, "name": n, "error": said})
                # A limit was hit: a few more tries tell a wall from a hiccup.
                if len(failed) >= 5:
                    break
    finally:
        gc.enable()
    b.result["start_all_ns"] = time.perf_counter_ns() - t0
    b.result["start_failed"] = failed
    time.sleep(3)
    b.result["host_running"] = host_snapshot()
    rows = [r for r in b.run([b.lxu, "ls", "-P", L, "--fancy"]).splitlines()[1:] if r.strip()]
    running = sum(1 for r in rows if "RUNNING" in r.split())
    b.result["listed"] = {"rows": len(rows), "running": running}
    if running != a.count:
        b.result["anomalies"].append(f"ls --fancy: {running} of {a.count} RUNNING ({len(rows)} rows)")
    b.wait_idle()
    ls = b.result["series"].setdefault("ls", [])
    for _ in range(LS_RUNS):
        ls.append(b.timed([b.lxu, "ls", "-P", L, "--fancy"]))


def phase_density_down(b):
    """Stops (-k) all of them, one after the other, then destroys them."""
    L = b.p("density")
    names = sorted(d for d in os.listdir(L) if d.startswith(PREFIX))
    running = set(b.run([b.lxu, "ls", "-P", L, "--running", "-1"]).split())
    stops = b.result["series"].setdefault("stop", [])
    t0 = time.perf_counter_ns()
    for n in names:
        if n in running:
            stops.append(b.timed(b.lxu_cmd("stop", L, n, "-k")))
    b.result["stop_all_ns"] = time.perf_counter_ns() - t0
    b.result["stopped"] = len(stops)
    time.sleep(3)
    b.result["host_after"] = host_snapshot()
    not_stopped = [n for n in names if b.lxu_state(L, n) != "STOPPED"]
    b.result["not_stopped"] = not_stopped
    if not_stopped:
        b.result["anomalies"].append(f"not STOPPED after stop -k: {not_stopped[:10]}")
    left = {n: f for n in names if (f := own_files(L, n))}
    b.result["files_left"] = left
    t0 = time.perf_counter_ns()
    failed = [n for n in names if b.spawn(b.lxu_cmd("destroy", L, n)) != 0]
    b.result["destroy_all_ns"] = time.perf_counter_ns() - t0
    if failed:
        b.result["anomalies"].append(f"destroy failed for {len(failed)}: {failed[:5]}{b.log_tail()}")


def phase_density_veth(b):
    """The veth variant up to its first wall: containers with the user's default.conf (a
    veth on lxcbr0) started until one is refused (the allowance in lxc-usernet), plus one.
    The refused start must say why and leave the container STOPPED with nothing made."""
    a = b.a
    L = b.p("density-veth")
    os.makedirs(L, exist_ok=True)
    before = B.host_veths()
    started, refused = [], None
    for i in range(a.veth_tries):
        n = f"{PREFIX}v{i:04d}"
        b.run([b.lxu, "create", "-P", L, "-n", n, "-t", "busybox"])
        r, w = os.pipe()
        try:
            rc = b.spawn(b.lxu_cmd("start", L, n), out=w)
        finally:
            os.close(w)
        said = os.read(r, 65536).decode(errors="replace").strip()
        os.close(r)
        if rc == 0:
            started.append(n)
            continue
        time.sleep(1)
        refused = {"index": i, "name": n, "exit": rc, "said": said, "state": b.lxu_state(L, n),
                   "files_left": own_files(L, n),
                   "new_host_veths": len([v for v in B.host_veths() if v not in before])}
        break
    b.result["started"] = len(started)
    b.result["refused"] = refused
    for n in started:
        b.run(b.lxu_cmd("stop", L, n, "-k"))
    for n in sorted(os.listdir(L)):
        b.run(b.lxu_cmd("destroy", L, n))
    if refused is None:
        b.result["anomalies"].append(f"no start was refused in {a.veth_tries} tries")
    elif refused["state"] != "STOPPED" or refused["files_left"] or refused["new_host_veths"] != len(started):
        b.result["anomalies"].append(f"the refused start left something: {refused}")


# -- root: what the kernel holds of the bench user's containers -----------------------------


def proc_cgroups(pid):
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            return f.read()
    except OSError:
        return ""


def proc_cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def bench_procs(work):
    """(pid, role, cmdline) of live processes of this run's containers: monitors (their
    command line names the work dir) and processes in an lxb- cgroup (payloads, LXC's)."""
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) == os.getpid():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    continue
        except OSError:
            continue
        cmd = proc_cmdline(p)
        if "bench.py" in cmd or "resilience.py" in cmd:
            continue
        if work + "/" in cmd:
            out.append((int(p), "monitor", cmd))
        elif f"/{PREFIX}" in proc_cgroups(p) or f".{PREFIX}" in proc_cgroups(p):
            out.append((int(p), "container", cmd))
    return out


def cgroup_dirs():
    """Cgroup directories named for this run's containers, in every hierarchy."""
    out = []
    for hier in sorted(os.listdir("/sys/fs/cgroup")):
        top = os.path.join("/sys/fs/cgroup", hier)
        for root, dirs, _ in os.walk(top):
            if root.count("/") - top.count("/") >= 8:
                dirs[:] = []
            for d in list(dirs):
                if PREFIX in d:
                    out.append(os.path.join(root, d))
                    dirs.remove(d)
    return out


def nic_lines(user):
    out = {}
    for db in ("/run/lxu/nics", "/run/lxc/nics"):
        try:
            with open(db) as f:
                lines = [ln.strip() for ln in f if ln.split()[:1] == [user]]
        except OSError:
            lines = []
        out[db] = [f"{ln} ({'live' if os.path.exists('/sys/class/net/' + ln.split()[-1]) else 'stale'})"
                   for ln in lines]
    return out


def phase_check(b):
    """Root: what is left of the bench user's containers after a mode (label)."""
    a = b.a
    work = a.user_work
    prefix = f"veth{a.uid}_"
    # A stop has the nic helper delete the container's veth and its database line without
    # waiting for it (the kernel's deletion takes ~20 ms each): give those a moment first.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any("lxu-user-nic" in cmd for _, _, cmd in bench_procs(work)):
        time.sleep(0.05)
    with open("/proc/self/mountinfo") as f:
        mounts = [ln.split()[4] for ln in f if ln.split()[4].startswith(work + "/")]
    with open("/proc/net/unix") as f:
        sockets = [ln.split()[-1] for ln in f if work + "/" in ln]
    b.result["left"] = {
        "processes": [f"{p} {role} `{cmd}`" for p, role, cmd in bench_procs(work)],
        "mounts": mounts,
        "host_veths": sorted(n for n in os.listdir("/sys/class/net") if n.startswith(prefix)),
        "cgroup_dirs": cgroup_dirs(),
        "unix_sockets": sockets,
    }
    b.result["nics"] = nic_lines(a.user)
    b.result["host"] = host_snapshot()


def pss(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def phase_density_mem(b):
    """Root, with all of them running: the Pss of every monitor and container process,
    and the limits the user runs into."""
    a = b.a
    procs = bench_procs(a.user_work)
    sums = {"monitor": 0, "container": 0}
    counts = {"monitor": 0, "container": 0}
    for p, role, _ in procs:
        v = pss(p)
        if v is not None:
            sums[role] += v
            counts[role] += 1
    b.result["pss_kb"] = sums
    b.result["procs"] = counts
    b.result["host"] = host_snapshot()
    limits = {}
    for f in ("/proc/sys/user/max_user_namespaces", "/proc/sys/kernel/pid_max", "/proc/sys/kernel/threads-max",
              "/proc/sys/fs/file-max", "/proc/sys/fs/inotify/max_user_instances", "/proc/sys/kernel/keys/maxkeys",
              "/proc/sys/kernel/pty/nr", "/proc/sys/kernel/pty/max", "/proc/sys/kernel/pty/reserve"):
        with open(f) as fh:
            limits[f] = fh.read().strip()
    base = f"/sys/fs/cgroup/pids/lxu/{a.user}"
    for k in ("pids.current", "pids.max"):
        try:
            with open(os.path.join(base, k)) as fh:
                limits[f"{base}/{k}"] = fh.read().strip()
        except OSError:
            pass
    b.result["limits"] = limits


PHASES = {"cycles": phase_cycles, "density-up": phase_density_up, "density-down": phase_density_down,
          "density-veth": phase_density_veth,
          "check": phase_check, "density-mem": phase_density_mem}


# -- report ---------------------------------------------------------------------------------


def med_ms(v):
    return B.ms(statistics.median(v)) if v else float("nan")


def first_last(v, k=100):
    """(median of the first k, median of the last k, ratio last/first)."""
    k = min(k, len(v) // 2) or 1
    f, l_ = statistics.median(v[:k]), statistics.median(v[-k:])
    return B.ms(f), B.ms(l_), l_ / f, k


def blocks(v, k=100, q=None):
    """Medians (ms) of consecutive blocks of k (or their lower q-quantile)."""
    def stat(b):
        return statistics.median(b) if q is None else sorted(b)[int(len(b) * q)]
    return " ".join(f"{B.ms(stat(v[i:i + k])):.1f}" for i in range(0, len(v), k))


def low(v, q=0.1):
    return B.ms(sorted(v)[int(len(v) * q)])


def left_lines(check):
    if not check:
        return ["not checked"]
    out = []
    for k, v in check.get("left", {}).items():
        out.extend(f"{k}: {x}" for x in v)
    for db, lines in check.get("nics", {}).items():
        out.extend(f"{db}: {x}" for x in lines)
    return out


def left_text(left, files=()):
    """What is left, with the nic databases' lines of gone devices counted apart."""
    real = [x for x in left if not x.endswith("(stale)")] + list(files)
    stale = {db: sum(1 for x in left if x.startswith(db) and x.endswith("(stale)"))
             for db in ("/run/lxu/nics", "/run/lxc/nics")}
    return ("nothing" if not real else "; ".join(real)) + \
        (f" — nic database lines of devices already gone: {stale['/run/lxu/nics']} in /run/lxu/nics, "
         f"{stale['/run/lxc/nics']} in /run/lxc/nics (dropped by the next create or delete)"
         if any(stale.values()) else "; no nic database line")


def delta(before, after, key):
    return after[key] - before[key]


def report(a):
    R = {p: B.load(a.results, p) for p in ("cycles", "check-before", "check-cycles", "density-up", "density-mem",
                                            "density-down", "density-veth", "check-density")}
    info = B.load(a.results, "resilience-info") or {}
    md = ["# lxu resilience rows (issue 16): start/stop cycles and density\n",
          f"Run {info.get('date', datetime.datetime.now().isoformat(timespec='seconds'))} by `bench/run "
          f"{info.get('mode', '?')}` as `{info.get('user', '?')}` on commit {info.get('commit', '?')}. "
          f"Host: {info.get('host', '?')}. Versions: {info.get('versions', '?')}. Load before: "
          f"{info.get('uptime_before', '?')}; after: {info.get('uptime_after', '?')}.\n"]
    notes = []
    base = left_lines(R["check-before"])
    if R["check-before"] and base:
        notes.append("already there before the run (not counted): " + left_text(base))
    c = R["cycles"]
    if c:
        s = c["series"]
        md.append("## Cycles\n")
        if c.get("error"):
            md.append(f"failed: {c['error']}\n")
        rows = [["What", "lxu", "LXC", "ratio lxu/LXC"]]
        lf, ll, lr, k = first_last(s["lxu_start"])
        row = [f"start to RUNNING, median of the first {k} cycles", f"{lf:.1f} ms", "", ""]
        row2 = [f"start to RUNNING, median of the last {k} cycles", f"{ll:.1f} ms", "", ""]
        row3 = ["last / first (flat = 1.00)", f"{lr:.2f}", "", ""]
        if s.get("lxc_start"):
            cf, cl, cr, ck = first_last(s["lxc_start"])
            row[2], row2[2], row3[2] = f"{cf:.1f} ms (first {ck})", f"{cl:.1f} ms (last {ck})", f"{cr:.2f}"
            row[3] = f"{lf / cf:.2f}×"
            row2[3] = f"{ll / cl:.2f}×"
        rows += [row, row2, row3]
        if s.get("lxu_floor"):
            ratios = [a_ / f_ for a_, f_ in zip(s["lxu_start"], s["lxu_floor"])]
            kk = min(100, len(ratios) // 2) or 1
            rf, rl = statistics.median(ratios[:kk]), statistics.median(ratios[-kk:])
            row = [f"start / floor (`unshare -Urpf --mount-proc true` timed right after), per cycle: median "
                   f"of the first {kk} / of the last {kk}", f"{rf:.2f} / {rl:.2f} = {rl / rf:.2f}", "", ""]
            if s.get("lxc_floor"):
                cr = [a_ / f_ for a_, f_ in zip(s["lxc_start"], s["lxc_floor"])]
                ck = min(100, len(cr) // 2) or 1
                row[2] = f"{statistics.median(cr[:ck]):.2f} / {statistics.median(cr[-ck:]):.2f} = " \
                         f"{statistics.median(cr[-ck:]) / statistics.median(cr[:ck]):.2f}"
            rows.append(row)
        # The lower decile: the start on a quiet CPU, less moved by other work on the host.
        kk = min(100, len(s["lxu_start"]) // 2) or 1
        f10, l10 = low(s["lxu_start"][:kk]), low(s["lxu_start"][-kk:])
        rows.append([f"start, lower decile of the first {kk} / of the last {kk} (less moved by load)",
                     f"{f10:.1f} / {l10:.1f} ms = {l10 / f10:.2f}", "", ""])
        lxc_all = s.get("lxc_start", [])
        rows.append([f"start, all cycles ({len(s['lxu_start'])} lxu, {len(lxc_all)} LXC)",
                     B.fmt_ms(s["lxu_start"]), B.fmt_ms(lxc_all) if lxc_all else "—",
                     f"{med_ms(s['lxu_start']) / med_ms(lxc_all):.2f}× (of medians)" if lxc_all else "—"])
        lxc_stop = s.get("lxc_stop", [])
        rows.append(["stop -k, all cycles", B.fmt_ms(s["lxu_stop"]), B.fmt_ms(lxc_stop) if lxc_stop else "—",
                     f"{med_ms(s['lxu_stop']) / med_ms(lxc_stop):.2f}× (of medians)" if lxc_stop else "—"])
        left = left_lines(R["check-cycles"])
        left = [x for x in left if x not in base]
        rows.append(["left behind after all cycles (processes, mounts, host veths, cgroup dirs, unix "
                     "sockets, nic database lines, socket/partial files)",
                     left_text(left, c.get("lxu_files_left", [])), "", ""])
        md.extend(table(rows))
        hb, ha = c.get("host_before"), c.get("host_after")
        if hb and ha:
            notes.append("host before → after the lxu cycles (2 s after the last stop; other work shares the "
                         f"host): open files {hb['files']} → {ha['files']}, unix sockets {hb['unix_sockets']} → "
                         f"{ha['unix_sockets']}, processes {hb['pids']} → {ha['pids']}, MemAvailable "
                         f"{delta(hb, ha, 'MemAvailable') / 1024:+.0f} MiB, Slab {delta(hb, ha, 'Slab') / 1024:+.0f} "
                         f"MiB (SUnreclaim {delta(hb, ha, 'SUnreclaim') / 1024:+.0f} MiB).")
        notes.append(f"cycles: the container's config has lxc.net.0 = {c.get('lxu_net')} (from the user's "
                     f"default.conf); host veths of the user while it ran, per cycle: "
                     f"{c.get('lxu_host_veths_while_running')}; state after the last stop: "
                     f"{c.get('lxu_state_after')}; 1-min load average every 100 cycles: "
                     f"{' '.join(c.get('lxu_loadavg_per_100', []))}.")
        notes.append(f"cycles: lxu start, median of each block of 100 cycles (ms): {blocks(s['lxu_start'])}; "
                     f"lower decile: {blocks(s['lxu_start'], q=0.1)}; "
                     f"stop -k: {blocks(s['lxu_stop'])}"
                     + (f"; LXC start per 50: {blocks(s['lxc_start'], 50)}" if s.get("lxc_start") else "") + ".")
        if c.get("lxc_net"):
            notes.append(f"LXC cycles: `lxc-start` + `lxc-wait -s RUNNING` (timed), `lxc-info -s` "
                         f"(untimed), `lxc-stop -k`, the same veth on lxcbr0 through LXC's lxc-user-nic; lxc.net.0 = {c['lxc_net']}; host veths left after LXC's cycles: "
                         f"{c.get('host_veths_after_lxc')}; LXC loads per 100: "
                         f"{' '.join(c.get('lxc_loadavg_per_100', []))}.")
    u, m, d = R["density-up"], R["density-mem"], R["density-down"]
    if u:
        md.append("## Density\n")
        if u.get("error"):
            md.append(f"failed: {u['error']}\n")
        s = u["series"]
        n = len(s.get("start", []))
        rows = [["What", "lxu", "note"]]
        conf = "; ".join(x for x in u.get("conf", "").splitlines() if x)
        rows.append([f"containers created (busybox, `-f` with `{conf}`)",
                     f"{info.get('count', '?')} in {u['create_all_ns'] / 1e9:.1f} s", "sequential `lxu create`"])
        rows.append(["started, RUNNING in `ls --fancy`", f"{n} started, {u['listed']['running']} RUNNING",
                     f"start failures: {len(u.get('start_failed', []))}"])
        if n >= 2:
            f_, l_, r_, k = first_last(s["start"])
            rows.append([f"start to RUNNING: median of the first {k} / of the last {k}",
                         f"{f_:.1f} ms / {l_:.1f} ms", f"ratio last/first {r_:.2f}"])
            rows.append(["start, all (one after the other)", B.fmt_ms(s["start"]),
                         f"total {u['start_all_ns'] / 1e9:.1f} s"])
        rows.append([f"`lxu ls --fancy` over all {u['listed']['rows']}", B.fmt_ms(s.get("ls", [])),
                     f"{len(s.get('ls', []))} runs"])
        hb, hr = u.get("host_before"), u.get("host_running")
        if m and not m.get("error") and n:
            p = m["pss_kb"]
            rows.append(["host memory per running container: Pss of its monitor + its processes (primary)",
                         f"{(p['monitor'] + p['container']) / n:.0f} kB",
                         f"monitors {p['monitor'] / max(1, m['procs']['monitor']):.0f} kB each "
                         f"({m['procs']['monitor']}), container processes {p['container'] / n:.0f} kB per "
                         f"container ({m['procs']['container']} processes)"])
        if hb and hr and n:
            rows.append(["host memory per running container: MemAvailable before − with all running / N",
                         f"{delta(hr, hb, 'MemAvailable') / n:.0f} kB",
                         f"includes kernel memory (Slab {delta(hb, hr, 'Slab') / n:+.0f} kB, KernelStack "
                         f"{delta(hb, hr, 'KernelStack') / n:+.0f} kB, PageTables {delta(hb, hr, 'PageTables') / n:+.0f}"
                         " kB per container) and whatever else ran meanwhile"])
        if d:
            st = d["series"].get("stop", [])
            rows.append([f"stop -k of all {d.get('stopped', '?')}, one after the other",
                         f"{d['stop_all_ns'] / 1e9:.1f} s", f"each {B.fmt_ms(st)}"])
            if "destroy_all_ns" in d:
                rows.append(["destroy of all", f"{d['destroy_all_ns'] / 1e9:.1f} s", ""])
        v = R["density-veth"]
        if v and v.get("refused"):
            f = v["refused"]
            rows.append([f"with a veth on lxcbr0 each (the user's default.conf; allowance {info.get('allowance', '?')})",
                         f"{v['started']} started; start {f['index'] + 1} refused (exit {f['exit']})",
                         f"`{f['said']}`; the refused one: {f['state']}, files left {f['files_left'] or 'none'}, "
                         f"host veths {f['new_host_veths']} (= the {v['started']} running)"])
        left = [x for x in left_lines(R["check-density"]) if x not in base]
        files = (d or {}).get("files_left") or {}
        rows.append(["left behind after stop + destroy", left_text(left, [f"{k}: {v}" for k, v in files.items()]),
                     ""])
        md.extend(table(rows))
        if s.get("start"):
            notes.append(f"density: start, median of each block of 100 (ms): {blocks(s['start'])}; lower decile: "
                         f"{blocks(s['start'], q=0.1)}.")
        for f in u.get("start_failed", []):
            notes.append(f"density: start {f['index'] + 1} ({f['name']}) failed: `{f['error']}`")
        if m and m.get("limits"):
            notes.append("limits with all running: " + ", ".join(f"{k} = {v}" for k, v in m["limits"].items()))
        if hb and hr:
            notes.append(f"density host: processes {hb['pids']} → {hr['pids']}, open files {hb['files']} → "
                         f"{hr['files']}, unix sockets {hb['unix_sockets']} → {hr['unix_sockets']} with all running"
                         + (f"; after stop: processes {d['host_after']['pids']}, open files "
                            f"{d['host_after']['files']}, unix sockets {d['host_after']['unix_sockets']}"
                            if d and d.get("host_after") else "") + ".")
    for p in R:
        for an in (R[p] or {}).get("anomalies", []):
            notes.append(f"anomaly ({p}): {an}")
        if (R[p] or {}).get("error"):
            notes.append(f"error ({p}): {R[p]['error']}")
    idle = []
    for p, labels in (("cycles", ("lxu cycles", "LXC cycles")), ("density-up", ("starts", "ls"))):
        for what, i in zip(labels, (R.get(p) or {}).get("idle", [])):
            idle.append(f"{what} {i['idle_pct']:.0f}%"
                        + ("" if i["reached"] else f" (busy: gave up after {i['waited_s']:.0f} s)"))
    if idle:
        notes.append("idle CPU in the second before each block (other work shares the 2 CPUs): "
                     + ", ".join(idle) + ".")
    print(B.write_md(md, notes, a.md))
    return 0


def table(rows):
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows[1:]]
    out.append("")
    return out


def main():
    ap = B.arg_parser(PHASES)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--lxc-count", type=int, default=100)
    ap.add_argument("--veth-tries", type=int, default=12, help="density-veth: starts to try at most")
    ap.add_argument("--user", default="lxubench")
    ap.add_argument("--uid", type=int, default=0)
    ap.add_argument("--user-work", default="", help="root phases: the bench user's work dir (never opened)")
    ap.add_argument("--label", default="", help="check: names the result file check-LABEL")
    a = ap.parse_args()
    if a.phase == "report":
        return report(a)
    # bench.Bench's fields the helpers use.
    a.warmup, a.runs, a.gate_max = 0, a.count, 0
    name = a.phase
    if a.phase == "check":
        a.phase = f"check-{a.label}"
    return B.run_phase(a, PHASES[name])


if __name__ == "__main__":
    sys.exit(main())
