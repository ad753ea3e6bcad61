//! `create`: a veth on an allowed bridge with its peer in the caller's netns.

use std::collections::HashSet;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use lxu_net::ifname;
use lxu_net::link::VethSpec;
use lxu_net::nicdb::NicEntry;
use lxu_net::reply::NicCreated;
use lxu_net::usernet;
use lxu_net::veth::require_bridge;
use lxu_net::Netlink;
use rustix::process::Uid;

use crate::accounts::Caller;
use crate::error::HelperError;
use crate::target::{caller_administers, in_target_as_caller, open_as_caller};
use crate::Env;

const EEXIST: i32 = 17;
const NAME_ATTEMPTS: usize = 8;
/// How long a create over quota waits for the caller's dying devices, and how often it
/// looks again.
const DYING_GRACE: Duration = Duration::from_secs(1);
const DYING_POLL: Duration = Duration::from_millis(10);

pub struct CreateArgs<'a> {
    /// As given on the command line (for messages).
    pub pid_arg: &'a str,
    /// Parsed pid; `None` if the argument was not a plain positive number.
    pub pid: Option<u32>,
    pub bridge: &'a str,
    pub ifname: Option<&'a str>,
}

/// Returns the output line, a [`NicCreated`].
pub fn run(env: &Env, caller: &Caller, args: &CreateArgs<'_>) -> Result<String, HelperError> {
    let ruid = Uid::from_raw(caller.uid);
    let allowances = usernet::allowances(&env.usernet, &caller.name, &caller.groups);
    for w in usernet::warnings(&env.usernet) {
        eprintln!("lxu-user-nic: warning: {w}");
    }
    // A caller with no line for this bridge never touches the lock.
    let quota = usernet::quota(&allowances, "veth", args.bridge).ok_or_else(|| {
        HelperError::NoAllowance {
            user: caller.name.clone(),
            bridge: args.bridge.to_string(),
        }
    })?;

    // Namespace checks come before the bridge is looked at, and every
    // failure in them reads the same.
    let denied = || HelperError::NetnsDenied(args.pid_arg.escape_debug().to_string());
    let pid = args.pid.ok_or_else(denied)?;
    let path = format!("/proc/{pid}/ns/net");
    let target = open_as_caller(ruid, Path::new(&path), args.pid_arg)?;
    caller_administers(ruid, &env.home, &target, args.pid_arg)?;

    let mut nl = Netlink::open()?;
    let bridge = match args.bridge {
        "none" => None,
        b => Some(require_bridge(&mut nl, b)?),
    };

    // Over quota, wait a little for the caller's devices to go: the kernel destroys a
    // stopped container's veth with its network namespace, asynchronously, a few ms
    // after `lxu stop` returned, and a restart at the full allowance would otherwise be
    // refused. The lock is not held while waiting.
    let deadline = Instant::now() + DYING_GRACE;
    let (mut db, existing, owner) = loop {
        let mut db = env.lock_db()?;
        let existing: HashSet<String> = nl.links()?.into_iter().map(|l| l.name).collect();
        db.cull(|nic| existing.contains(nic));
        db.commit()?;
        let free = quota
            .owners
            .iter()
            .find(|(o, n)| db.count(o, "veth", args.bridge) < *n as usize);
        if let Some((o, _)) = free {
            let o = o.clone();
            break (db, existing, o);
        }
        if Instant::now() >= deadline {
            return Err(HelperError::Quota {
                user: caller.name.clone(),
                total: quota.total(),
                bridge: args.bridge.to_string(),
                lines: usernet::describe_lines(&quota.lines),
            });
        }
        drop(db);
        std::thread::sleep(DYING_POLL);
    };

    let mtu = bridge.as_ref().map(|b| b.mtu);
    let host_mac = ifname::random_mac(Some(0xfe)).map_err(lxu_net::VethError::Random)?;
    let mut attempt = 0;
    let (entry, host_name) = loop {
        attempt += 1;
        let host_name = ifname::host_veth_name(caller.uid).map_err(lxu_net::VethError::Random)?;
        if existing.contains(&host_name) || db.has_nic(&host_name) {
            if attempt >= NAME_ATTEMPTS {
                return Err(HelperError::NoFreeName);
            }
            continue;
        }
        // Record first, create second: if the caller kills us in between,
        // the next run culls a line without a device. The other order would
        // leave a device outside the quota.
        let entry = NicEntry::new(&owner, "veth", args.bridge, &host_name)?;
        db.add(entry.clone());
        db.commit()?;
        let spec = VethSpec {
            host_name: host_name.clone(),
            peer_name: format!("{host_name}p"),
            peer_netns: Some(target.as_fd()),
            mtu,
            host_mac: Some(host_mac),
            peer_mac: None,
        };
        match nl.create_veth(&spec) {
            Ok(()) => break (entry, host_name),
            Err(e) => {
                db.remove(&entry);
                db.commit()?;
                // The peer name lives in the caller's netns, which they
                // control; a clash there just means another name.
                if e.errno() != Some(EEXIST) || attempt >= NAME_ATTEMPTS {
                    return Err(e.into());
                }
            }
        }
    };

    match finish(
        env,
        caller,
        args,
        &mut nl,
        bridge.map(|b| b.index),
        &host_name,
        &target,
    ) {
        Ok(line) => Ok(line),
        Err(e) => {
            if let Ok(Some(l)) = nl.link_by_name(&host_name) {
                let _ = nl.delete_link(l.index);
            }
            db.remove(&entry);
            db.commit()?;
            Err(e)
        }
    }
}

/// Attach, bring up, and rename the peer inside the caller's netns.
fn finish(
    env: &Env,
    caller: &Caller,
    args: &CreateArgs<'_>,
    nl: &mut Netlink,
    bridge: Option<u32>,
    host_name: &str,
    target: &OwnedFd,
) -> Result<String, HelperError> {
    let host = nl.require_link(host_name)?;
    if let Some(b) = bridge {
        nl.set_master(host.index, Some(b))?;
    }
    nl.set_up(host.index, true)?;
    let peer_index = host
        .peer_index
        .ok_or_else(|| lxu_net::LinkError::NoSuchLink(format!("peer of {host_name}")))?;
    let want = args.ifname.unwrap_or("eth%d");
    let renamed = in_target_as_caller(Uid::from_raw(caller.uid), &env.home, target, || {
        let mut inside = Netlink::open()?;
        inside.rename(peer_index, want)?;
        inside
            .link_by_index(peer_index)?
            .ok_or_else(|| lxu_net::LinkError::NoSuchLink(format!("#{peer_index}")))
    })?;
    let peer = renamed.map_err(|source| HelperError::Rename {
        name: want.to_string(),
        source,
    })?;
    Ok(NicCreated {
        container_name: peer.name,
        container_index: peer.index,
        host_name: host_name.to_string(),
        host_index: host.index,
    }
    .to_string())
}
