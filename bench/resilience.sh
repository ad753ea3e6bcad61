# Sourced by bench/run for `bench/run cycles|density`: issue 16's resilience rows, with
# bench/run's user, work dirs, config files and clean-up trap. The user phases run as the
# bench user; the checks as root read only /proc, /sys and the nic databases (never a path
# below $W), and their results are copied into $RESULTS by the user, as dl-trees does.

# Root's phases run from / (never from the user's $W).
res_root() { cd / && exec "$@"; }

# One phase of resilience.py: rphase NAME RUNNER [ARGS…] (RUNNER: as_user or res_root)
RES_FAILED=()
rphase() {
    local name=$1 runner=$2
    shift 2
    local work=$W results=$RESULTS
    [ "$runner" = res_root ] && work=$R results=$R
    say "$name $*"
    ("$runner" "$PY" "$R/resilience.py" "$name" --work "$work" --results "$results" --lxu "$LXU_BIN" \
        --count "$COUNT" --lxc-count "$LXC_COUNT" --user "$BUSER" --uid "$(id -u "$BUSER")" \
        --user-work "$W" --idle-timeout "$IDLE_TIMEOUT" "$@") &
    PHASE_PID=$!
    local rc=0
    wait "$PHASE_PID" || rc=$?
    PHASE_PID=
    [ $rc = 0 ] || RES_FAILED+=("$name $*")
    if [ "$runner" = res_root ]; then
        local f=$name.json
        [ "$name" = check ] && f=check-${2:?}.json
        chmod 0644 "$R/$f" 2>/dev/null && (as_user cp "$R/$f" "$RESULTS/$f")
    fi
    return 0
}

# The density containers' -f file: no network.
printf 'lxc.net.0.type = empty\n' > "$R/density.conf"
chmod 0644 "$R/density.conf"
# Each container's console and ttys (lxc.tty.max, 4 in the busybox template's include, which
# comes after -f's lines) are ptys of one pool shared by all containers, kernel.pty.max −
# kernel.pty.reserve: 3072 by default, full at 614 busybox containers. --pty-max raises it.
PTY_MAX_BEFORE=$(cat /proc/sys/kernel/pty/max)
if [ -n "$PTY_MAX" ]; then
    PTY_MAX_OLD=$PTY_MAX_BEFORE
    echo "$PTY_MAX" > /proc/sys/kernel/pty/max
fi
(as_user ln -s "$R/density.conf" "$W/")

RES_UPTIME_BEFORE=$(uptime | sed 's/^ *//')
say "resilience rows ($MODES) as $BUSER: --count $COUNT, --lxc-count $LXC_COUNT; load: $RES_UPTIME_BEFORE"
ALLOWANCE=$(awk -v u="$BUSER" '$1 == u && $2 == "veth" && $3 == "lxcbr0" { print $4 }' /etc/lxc/lxc-usernet 2>/dev/null | tail -1)
rphase check res_root --label before
for mode in $MODES; do
    case $mode in
        cycles)
            [ -n "$ALLOWANCE" ] || die "/etc/lxc/lxc-usernet has no \`$BUSER veth lxcbr0 N\` line: the cycles need a veth"
            ip link show lxcbr0 >/dev/null 2>&1 || die "no lxcbr0: run \`lxu net setup\`"
            rphase cycles as_user
            stop_everything
            (as_user "$LXU_BIN" destroy -P "$W/lxu" -n lxb-cy) >/dev/null 2>&1 || true
            rphase check res_root --label cycles
            ;;
        density)
            rphase density-up as_user
            rphase density-mem res_root
            rphase density-down as_user
            [ -z "$ALLOWANCE" ] || rphase density-veth as_user --veth-tries $((ALLOWANCE + 2))
            rphase check res_root --label density
            ;;
    esac
done
stop_everything

case $MODES in
    cycles | density) RES_MD=$HERE/results/resilience-$MODES.md ;;
    *) RES_MD=$HERE/results/resilience.md ;;
esac
COMMIT="$(git -C "$HERE/.." rev-parse --short HEAD 2>/dev/null || echo '?') (crates/ as of $(git -C "$HERE/.." log -1 --format=%h -- crates 2>/dev/null || echo '?'))"
[ -z "$(git -C "$HERE/.." status --porcelain -- crates 2>/dev/null)" ] || COMMIT="$COMMIT (with uncommitted changes in crates/)"
B_DATE=$(date -Is) B_USER=$BUSER B_MODE=$MODES B_COMMIT=$COMMIT B_COUNT=$COUNT B_ALLOW=${ALLOWANCE:-none} \
B_HOST="Linux $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); kernel.pty.max $(cat /proc/sys/kernel/pty/max)${PTY_MAX:+ (set by --pty-max; $PTY_MAX_BEFORE before)}, kernel.pty.reserve $(cat /proc/sys/kernel/pty/reserve); bench/run took $(awk -v a="$START_S" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }') s; veth allowance of $BUSER on lxcbr0: ${ALLOWANCE:-none}; dnsmasq on lxcbr0: $(pgrep -x dnsmasq >/dev/null && echo running || echo 'not running')" \
B_VERSIONS="$("$LXU_BIN" --version 2>/dev/null | head -1) ($LXU_BIN); lxc $(dpkg-query -W -f='${Version}' lxc 2>/dev/null)" \
B_UP0=$RES_UPTIME_BEFORE B_UP1=$(uptime | sed 's/^ *//') \
$PY -c 'import json, os; e = os.environ; json.dump({
    "date": e["B_DATE"], "user": e["B_USER"], "mode": e["B_MODE"], "commit": e["B_COMMIT"], "count": int(e["B_COUNT"]),
    "allowance": e["B_ALLOW"],
    "host": e["B_HOST"], "versions": e["B_VERSIONS"], "uptime_before": e["B_UP0"], "uptime_after": e["B_UP1"]},
    open(os.sys.argv[1], "w"), indent=1)' "$R/resilience-info.json"
chmod 0644 "$R/resilience-info.json"
(as_user cp "$R/resilience-info.json" "$RESULTS/resilience-info.json")
# The raw figures stay (root's copy, outside the checkout) whatever the report does.
RAW=${LXU_BENCH_CACHE:-/var/cache/lxu-bench}/resilience-last
rm -rf "$RAW" && mkdir -p "$RAW" && cp "$R"/*.json "$RAW/" 2>/dev/null || true
(cd / && "${RUNAS[@]}" cat "$RESULTS/cycles.json") > "$RAW/cycles.json" 2>/dev/null || rm -f "$RAW/cycles.json"
for f in density-up density-down density-veth; do
    (cd / && "${RUNAS[@]}" cat "$RESULTS/$f.json") > "$RAW/$f.json" 2>/dev/null || rm -f "$RAW/$f.json"
done
mkdir -p "$HERE/results"
$PY "$R/resilience.py" report --work "$R" --results "$RESULTS" --md "$RES_MD"
say "written to $RES_MD"
if [ ${#RES_FAILED[@]} -gt 0 ]; then
    say "phases that failed: ${RES_FAILED[*]}"
    for f in "${RES_FAILED[@]}"; do
        f=${f%% *}
        (cd / && "${RUNAS[@]}" tail -n 20 "$W/log/$f.log") 2>/dev/null || tail -n 20 "$R/log/$f.log" 2>/dev/null || true
    done
    exit 1
fi
