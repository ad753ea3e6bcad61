//! `delete`: remove a veth the caller created (an lxu extension; LXC only
//! deletes Open vSwitch ports this way).

use std::collections::HashSet;
use std::path::Path;

use lxu_net::usernet;
use lxu_net::Netlink;
use rustix::process::Uid;

use crate::accounts::Caller;
use crate::error::HelperError;
use crate::target::{caller_administers, open_as_caller};
use crate::Env;

pub struct DeleteArgs<'a> {
    pub netns_path: &'a Path,
    /// The path argument as given (for messages).
    pub netns_arg: &'a str,
    pub bridge: &'a str,
    pub nic: &'a str,
}

/// Deletes `nic` only if all of this holds:
/// - lxc-usernet has a line for the caller (or a group of theirs) on this
///   bridge, checked before the lock, so that a caller the administrator
///   gave nothing never delays anyone;
/// - the caller may administer the named netns (same checks as create);
/// - the database has the line `<owner> veth <bridge> <nic>`, whole words,
///   with owner the caller's name or one of their `@group`s
///   (CVE-2026-39402);
/// - `nic` is a veth whose peer lives in that netns, so a group member
///   cannot remove another member's device through the shared group entry.
pub fn run(env: &Env, caller: &Caller, args: &DeleteArgs<'_>) -> Result<(), HelperError> {
    let ruid = Uid::from_raw(caller.uid);
    let allowances = usernet::allowances(&env.usernet, &caller.name, &caller.groups);
    if usernet::quota(&allowances, "veth", args.bridge).is_none() {
        return Err(HelperError::NoAllowance {
            user: caller.name.clone(),
            bridge: args.bridge.to_string(),
        });
    }
    let target = open_as_caller(ruid, args.netns_path, args.netns_arg)?;
    caller_administers(ruid, &env.home, &target, args.netns_arg)?;

    let mut nl = Netlink::open()?;
    let mut db = env.lock_db()?;
    let existing: HashSet<String> = nl.links()?.into_iter().map(|l| l.name).collect();
    db.cull(|nic| existing.contains(nic));
    db.commit()?;

    let not_recorded = || HelperError::NotRecorded {
        user: caller.name.clone(),
        nic: args.nic.to_string(),
        bridge: args.bridge.to_string(),
    };
    caller
        .owner_names()
        .iter()
        .find_map(|o| db.find(o, "veth", args.bridge, args.nic))
        .ok_or_else(not_recorded)?;
    let link = nl.link_by_name(args.nic)?.ok_or_else(not_recorded)?;
    let peer_ns = nl.nsid_of(std::os::fd::AsFd::as_fd(&target))?;
    let connected = link.kind.as_deref() == Some("veth")
        && link.peer_netnsid.is_some()
        && link.peer_netnsid == peer_ns;
    if !connected {
        return Err(HelperError::NotConnected {
            nic: args.nic.to_string(),
            netns: args.netns_arg.escape_debug().to_string(),
        });
    }
    // The kernel takes ~20 ms to delete a veth whose peer is in another namespace (it
    // waits for the network stack to quiesce); the lock is not held meanwhile, so a
    // restart's `create` is not queued behind it. The line stays until the device is
    // gone, so the device is counted against the quota for as long as it exists.
    drop(db);
    nl.delete_link(link.index)?;
    let mut db = env.lock_db()?;
    // Not removing the caller's entry: while the lock was free a concurrent create may have culled
    // the line (the device being gone) and, by chance of its random pick, recorded a new
    // device of the same name under the same owner, whose identical line must stay (the
    // caller would otherwise get a device outside the quota). So drop exactly the lines
    // whose devices are gone, ours among them.
    let existing: HashSet<String> = nl.links()?.into_iter().map(|l| l.name).collect();
    db.cull(|nic| existing.contains(nic));
    db.commit()?;
    Ok(())
}
