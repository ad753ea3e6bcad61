//! A simulated host reboot and a lost `/run/lxu` (issue 16), as root playing the test
//! user through runuser: every process of the user's containers killed with SIGKILL, the
//! runtime directory gone; then `ls` is truthful, the containers start again and `lxu net
//! setup` works again, also while the bridge's dnsmasq still runs without its pid file.

use std::path::Path;
use std::time::Duration;

use lxu_e2e::host::{self, User};
use lxu_e2e::root::{lxu_as, lxu_root, root_ready, OwnerLxcpath};
use lxu_e2e::{cgroupfs, netutil};
use rustix::process::Signal;

const RUN: &str = "/run/lxu";

fn owner() -> Option<User> {
    if !root_ready() {
        return None;
    }
    let name = std::env::var("LXU_TEST_USER").unwrap_or_else(|_| "lxutest".into());
    host::user_by_name(&name)
}

/// dnsmasq processes whose command line names `--interface=BRIDGE`.
fn dnsmasqs_of(bridge: &str) -> Vec<i32> {
    let want = format!("--interface={bridge}");
    host::procs()
        .into_iter()
        .filter(|p| !p.is_zombie() && p.name == "dnsmasq")
        .filter(|p| {
            std::fs::read(format!("/proc/{}/cmdline", p.pid))
                .unwrap_or_default()
                .split(|b| *b == 0)
                .any(|a| a == want.as_bytes())
        })
        .map(|p| p.pid)
        .collect()
}

/// Every process of container `name` under `dir`: its monitor and what is in its cgroups.
fn processes_of(dir: &Path, name: &str) -> Vec<i32> {
    let mut pids = host::monitors_of(&dir.join(name));
    for d in cgroupfs::payload_dirs(name) {
        let procs = std::fs::read_to_string(d.join("cgroup.procs")).unwrap_or_default();
        pids.extend(procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
    }
    pids
}

/// The state column of `ls --fancy` for `name`.
#[track_caller]
fn ls_state(owner: &User, p: &str, name: &str) -> String {
    let ls = lxu_as(owner, &["ls", "-P", p, "--fancy"]);
    ls.success();
    ls.lines()
        .into_iter()
        .find(|l| l.split_whitespace().next() == Some(name))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("`ls --fancy` does not list {name}\n{ls}"))
        .to_string()
}

#[test]
fn a_host_reboot_leaves_ls_truthful_and_everything_startable() {
    let Some(owner) = owner() else { return };
    let lxcpath = OwnerLxcpath::new(&owner, "reboot");
    let p = lxcpath.p();
    let conf = lxcpath.dir.join("no-net.conf");
    // One without network, one with the user's default veth on lxcbr0.
    lxu_as(
        &owner,
        &[
            "create",
            "-P",
            p,
            "-n",
            "plain",
            "-t",
            "busybox",
            "-f",
            conf.to_str().unwrap(),
        ],
    )
    .success();
    lxu_as(&owner, &["create", "-P", p, "-n", "veth", "-t", "busybox"]).success();
    let bridge = netutil::bridge_ready();
    let names: &[&str] = if bridge {
        &["plain", "veth"]
    } else {
        &["plain"]
    };
    // The bridge as a boot leaves it: its dnsmasq runs (and survives what follows: it is
    // not the user's).
    let dnsmasq = if bridge {
        lxu_root(&["net", "setup"]).success();
        let d = dnsmasqs_of(netutil::BRIDGE);
        assert_eq!(d.len(), 1, "one dnsmasq on lxcbr0");
        d
    } else {
        Vec::new()
    };
    for n in names {
        lxu_as(&owner, &["start", "-P", p, "-n", n]).success();
    }

    // The "reboot": everything of theirs killed at once, then /run/lxu gone.
    let victims: Vec<i32> = names
        .iter()
        .flat_map(|n| processes_of(&lxcpath.dir, n))
        .collect();
    assert!(
        victims.len() >= names.len() * 2,
        "monitors and inits: {victims:?}"
    );
    for pid in &victims {
        host::kill(*pid, Signal::KILL);
    }
    assert!(host::wait_until(Duration::from_secs(10), || {
        victims.iter().all(|p| !host::alive(*p))
    }));
    // Other users' helpers may write there meanwhile (tests running in parallel): retried.
    let removed = host::wait_until(Duration::from_secs(5), || {
        match std::fs::remove_dir_all(RUN) {
            Ok(()) => true,
            Err(e) => e.kind() == std::io::ErrorKind::NotFound,
        }
    });
    assert!(removed, "could not remove {RUN}");

    for n in names {
        assert_eq!(ls_state(&owner, p, n), "STOPPED", "{n} after the reboot");
        lxu_as(&owner, &["info", "-P", p, "-n", n, "-s", "-H"])
            .success()
            .stdout_is("STOPPED");
    }
    // The bridge's host side comes back first, as a boot would do it. Its dnsmasq still
    // runs without its pid file: adopted, not doubled (which failed with "Address already
    // in use") nor restarted (which would drop the leases it serves).
    if bridge {
        lxu_root(&["net", "setup"]).success();
        assert_eq!(
            dnsmasqs_of(netutil::BRIDGE),
            dnsmasq,
            "the same dnsmasq serves on"
        );
    }
    for n in names {
        lxu_as(&owner, &["start", "-P", p, "-n", n]).success();
        assert_eq!(ls_state(&owner, p, n), "RUNNING", "{n} started again");
    }
    if bridge {
        // The nic database came back with the new veth's line, and only it for this user.
        let nics = std::fs::read_to_string(Path::new(RUN).join("nics")).unwrap_or_default();
        let veths = netutil::user_veths(owner.uid);
        for line in nics
            .lines()
            .filter(|l| l.starts_with(&format!("{} ", owner.name)))
        {
            let dev = line.split_whitespace().last().unwrap_or("");
            assert!(veths.iter().any(|v| v == dev), "stale nic line `{line}`");
        }
    }
    for n in names {
        lxu_as(&owner, &["stop", "-P", p, "-n", n]).success();
        assert_eq!(ls_state(&owner, p, n), "STOPPED");
        assert!(cgroupfs::payload_dirs(n).is_empty(), "{n}'s cgroups stayed");
    }
}

/// A bridge of this test's own (lxcbr0 is shared with other tests running meanwhile).
const BR: &str = "lxut16r";
const BR_V4: &str = "10.216.99.1/24";

struct OwnBridge;

impl Drop for OwnBridge {
    fn drop(&mut self) {
        lxu_root(&["net", "teardown", "--bridge", BR, "--force"]);
        for pid in dnsmasqs_of(BR) {
            host::kill(pid, Signal::KILL);
        }
    }
}

fn setup_args(extra: &[&'static str]) -> Vec<&'static str> {
    let mut a = vec!["net", "setup", "--bridge", BR, "--ipv4", BR_V4];
    a.extend_from_slice(extra);
    a
}

/// The issue's bug: the pid file lost while dnsmasq runs made the next `lxu net setup`
/// start a second dnsmasq, which failed ("failed to create listening socket for ...:
/// Address already in use"). Setup now finds the running one by the bridge it serves and
/// adopts it, or restarts it when its command line is outdated; teardown stops it too.
#[test]
fn net_setup_adopts_the_dnsmasq_whose_pid_file_was_lost() {
    if owner().is_none() || !Path::new("/usr/sbin/dnsmasq").exists() {
        return;
    }
    let _br = OwnBridge;
    let pid_file = Path::new(RUN).join(format!("net/dnsmasq.{BR}.pid"));
    lxu_root(&setup_args(&[])).success();
    let first = dnsmasqs_of(BR);
    assert_eq!(first.len(), 1, "setup started one dnsmasq");

    std::fs::remove_file(&pid_file).unwrap();
    lxu_root(&setup_args(&[]))
        .success()
        .stdout_has(&format!("adopted dnsmasq (pid {})", first[0]));
    assert_eq!(dnsmasqs_of(BR), first, "the same dnsmasq serves on");
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap().trim(),
        first[0].to_string()
    );
    lxu_root(&setup_args(&[]))
        .success()
        .stdout_is("nothing to change");

    // Lost again, and setup now wants another command line: restarted.
    std::fs::remove_file(&pid_file).unwrap();
    lxu_root(&setup_args(&["--dhcp-range", "10.216.99.10,10.216.99.20"]))
        .success()
        .stdout_has("its command line is outdated")
        .stdout_has(&format!("started dnsmasq for {BR}"));
    let second = dnsmasqs_of(BR);
    assert_eq!(second.len(), 1, "one dnsmasq: {second:?}");
    assert_ne!(second, first);

    // Teardown without the pid file stops it as well.
    std::fs::remove_file(&pid_file).unwrap();
    lxu_root(&["net", "teardown", "--bridge", BR])
        .success()
        .stdout_has(&format!("stopped dnsmasq (pid {})", second[0]));
    assert!(dnsmasqs_of(BR).is_empty());
    assert!(!netutil::link_exists(BR));
}

/// A bridge of the next test's own.
const FAKE_BR: &str = "lxut16f";
const FAKE_SETUP: [&str; 6] = [
    "net",
    "setup",
    "--bridge",
    FAKE_BR,
    "--ipv4",
    "10.216.98.1/24",
];

struct FakeBridge;

impl Drop for FakeBridge {
    fn drop(&mut self) {
        for pid in dnsmasqs_of(FAKE_BR) {
            host::kill(pid, Signal::KILL);
        }
        lxu_root(&["net", "teardown", "--bridge", FAKE_BR, "--force"]);
    }
}

/// Plays the real dnsmasq in a user and network namespace of the user's own: a bridge of
/// that name with the listen addresses, `/run` a tmpfs for the pid and lease files.
const FAKE_DNSMASQ: &str = r#"set -e
BR=$1; shift
ip link add "$BR" type bridge
ip link set "$BR" up
prev=
for a in "$@"; do
  if [ "$prev" = --listen-address ]; then
    case $a in *:*) ip addr add "$a/64" dev "$BR" nodad ;; *) ip addr add "$a/24" dev "$BR" ;; esac
  fi
  prev=$a
done
mount -t tmpfs tmpfs /run
mkdir -p /run/lxu/net
exec /usr/sbin/dnsmasq "$@"
"#;

/// Attack: once the bridge's dnsmasq is gone (crashed, or a reboot emptied /run), a user
/// runs /usr/sbin/dnsmasq with the very command line setup gives it, in namespaces of
/// their own where it serves happily. `lxu net setup` used to adopt it ("adopted dnsmasq")
/// and start none: the bridge was left without DHCP and DNS for everyone. Only a process
/// of root or of the dnsmasq user may be adopted.
#[test]
fn net_setup_never_adopts_a_users_dnsmasq() {
    let Some(user) = owner() else { return };
    if !Path::new("/usr/sbin/dnsmasq").exists() {
        return;
    }
    let subuid = std::fs::read_to_string("/etc/subuid").unwrap_or_default();
    let subgid = std::fs::read_to_string("/etc/subgid").unwrap_or_default();
    let first = |t: &str| {
        host::subid_entries(t)
            .into_iter()
            .find(|(o, r)| (o == &user.name || *o == user.uid.to_string()) && r.count >= 65536)
            .map(|(_, r)| r.start)
    };
    let (Some(su), Some(sg)) = (first(&subuid), first(&subgid)) else {
        return;
    };
    let _br = FakeBridge;
    lxu_root(&FAKE_SETUP).success();
    let real = dnsmasqs_of(FAKE_BR);
    assert_eq!(real.len(), 1, "setup started one dnsmasq");
    let args: Vec<String> = std::fs::read(format!("/proc/{}/cmdline", real[0]))
        .unwrap()
        .split(|b| *b == 0)
        .skip(1)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    // The bridge's dnsmasq dies; its pid file stays, naming a dead process.
    host::kill(real[0], Signal::KILL);
    assert!(host::wait_until(Duration::from_secs(5), || dnsmasqs_of(
        FAKE_BR
    )
    .is_empty()));

    let script = std::env::temp_dir().join(format!("lxu-fake-dnsmasq-{}", std::process::id()));
    std::fs::write(&script, FAKE_DNSMASQ).unwrap();
    let out = std::process::Command::new("/usr/sbin/runuser")
        .args(["-u", &user.name, "--", "unshare", "--map-root-user"])
        .arg(format!("--map-users={su},1,65535"))
        .arg(format!("--map-groups={sg},1,65535"))
        .args(["-n", "-m", "sh"])
        .arg(&script)
        .arg(FAKE_BR)
        .args(&args)
        .current_dir("/")
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&script);
    assert!(out.status.success(), "the user's dnsmasq: {out:?}");
    let fake = dnsmasqs_of(FAKE_BR);
    assert_eq!(fake.len(), 1, "the user's dnsmasq runs");

    let r = lxu_root(&FAKE_SETUP);
    r.success();
    assert!(
        !r.stdout.contains("adopted dnsmasq"),
        "root adopted the user's dnsmasq: {}",
        r.stdout
    );
    r.stdout_has(&format!("started dnsmasq for {FAKE_BR}"));
    let now: Vec<i32> = dnsmasqs_of(FAKE_BR)
        .into_iter()
        .filter(|p| !fake.contains(p))
        .collect();
    assert_eq!(now.len(), 1, "a dnsmasq of root's serves the bridge");
    let pid_file = Path::new(RUN).join(format!("net/dnsmasq.{FAKE_BR}.pid"));
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap().trim(),
        now[0].to_string()
    );
}
