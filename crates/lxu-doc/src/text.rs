//! What the man pages say beyond the one-line help of each verb and option.

/// `lxu(1)`'s description.
pub(crate) const TOP: &str = "\
lxu runs LXC-style system containers as an ordinary user: each container has its own user \
namespace mapped onto the user's subordinate ids (root runs privileged containers too). It \
reads LXC's configuration files (in the LXC 1.0 and the current key names) and lays \
container directories out as LXC does, so LXC's tools run containers lxu made and the other \
way round.

Each verb has its own page: lxu-create(1), lxu-start(1), lxu-attach(1) and so on. Invoked \
as lxc-create, lxc-start, lxc-attach, ... (links to lxu made by ./x install --lxc-links) it \
behaves as that LXC tool, with LXC's options.

Root prepares a user once with lxu setup-user USER; lxu checkconfig says what the host \
offers and lacks. lxu --version says the version, the commit, the C library and the host's \
optional features.

Errors go to standard error as `lxu: what failed: why`; the exit status is 0 on success, 1 \
on failure, and what a verb's page says otherwise.";

/// `lxu(1)`'s FILES section: path, what it is.
pub(crate) const FILES: &[(&str, &str)] = &[
    (
        "~/.config/lxc/lxc.conf",
        "the user's lxc.conf (lxc.lxcpath, lxc.default_config, ...); root's is /etc/lxc/lxc.conf",
    ),
    (
        "~/.config/lxc/default.conf",
        "the config every new container starts from (id maps, network); root's is /etc/lxc/default.conf",
    ),
    (
        "~/.local/share/lxc",
        "the containers (the lxcpath); root's is /var/lib/lxc",
    ),
    (
        "~/.cache/lxc",
        "downloaded images; root's is /var/cache/lxc",
    ),
    (
        "/etc/subuid, /etc/subgid",
        "the subordinate ids a user may map into containers",
    ),
    (
        "/etc/lxc/lxc-usernet",
        "how many veth devices each user may add to which bridge",
    ),
];

/// How the synopsis names the positionals of the verb `path` (the parser calls them all
/// `rest`: the container name when -n is not given, then what follows it).
pub(crate) fn positionals(path: &str) -> Option<&'static str> {
    Some(match path {
        "create" => "NAME -- TEMPLATE-OPTION",
        "start" | "attach" | "execute" => "NAME -- COMMAND",
        "cgroup" => "NAME KEY [VALUE]",
        "snapshot" => "NAME [NEWNAME]",
        "image" => "ARG",
        "stop" | "info" | "destroy" | "freeze" | "unfreeze" | "wait" | "copy" | "console"
        | "fix-layout" => "NAME",
        _ => return None,
    })
}

/// The description of each verb, by its path (`start`, `net setup`).
const VERBS: &[(&str, &str)] = &[
    (
        "create",
        "\
Creates the container NAME in the lxcpath from a template: busybox (the host's static \
busybox), download (an image from an image server in LXC's format, checked against its \
signature; the options after -- are those of LXC's download template: -d DIST -r RELEASE \
-a ARCH, --list, --server, ...), the name of an LXC template script, or a path to one.

The new config is lxc.default_config (~/.config/lxc/default.conf) followed by the file of \
-f. An unprivileged container needs lxc.idmap lines there; lxu setup-user writes them. \
With -q, the download's steps and the image's message are not printed.",
    ),
    (
        "start",
        "\
Starts the container NAME: in the background, returning once it runs, or with -F in the \
foreground with its console on this terminal. A command after the name (after --) \
replaces lxc.init.cmd.

The exit status is 0 when the container runs (also when it was running already, which \
is said on standard error unless -q), 1 when it could not be started, and with -F the \
exit status of the container's init.",
    ),
    (
        "stop",
        "\
Stops the container NAME: sends lxc.signal.halt to its init, waits for it to end (60 \
seconds, or -t), then kills it. -k kills at once, -r reboots, -W sends the signal and \
returns, --nokill fails instead of killing.

The exit status is 0 when the container stopped, 1 on failure, 2 when it was not \
running.",
    ),
    (
        "ls",
        "\
Lists the containers of the lxcpath: their names (in columns on a terminal, one per line \
with -1 or when piped), or with -f a table of NAME, STATE, AUTOSTART, GROUPS, IPV4, IPV6 \
and UNPRIVILEGED (other columns with -F: PID, RAM, SWAP, INTERFACE), or JSON with \
--format json.

--active, --running, --frozen, --stopped, -g GROUPS and a regular expression choose which \
containers are listed.",
    ),
    (
        "info",
        "\
Shows the container NAME's state and, while it runs, its init's PID, its IP addresses \
and its resource use (CPU, block I/O, memory, and the traffic of each network link), in \
LXC's layout. -s, -p, -i and -S choose parts; -H prints raw numbers, and only the value \
when one of -s, -p, -i is asked; -c KEY prints a config value; --format json prints it \
all as JSON.",
    ),
    (
        "destroy",
        "\
Removes the container NAME: its rootfs (as the container's root, in its user namespace) \
and its directory, after running lxc.hook.destroy. A running container is refused unless \
-f, which stops it first; a container with snapshots is refused unless -s, which destroys \
them first.",
    ),
    (
        "config",
        "\
Prints the value of an lxc.conf key (lxc.lxcpath, lxc.default_config, ...) as lxu \
resolves it for the caller; -l (or no key) lists the keys.",
    ),
    (
        "update-config",
        "\
Rewrites an LXC 1.0 container config with the current key names (lxc.utsname becomes \
lxc.uts.name, lxc.network.N.* becomes lxc.net.N.*, ...), keeping the old file as \
FILE.backup.",
    ),
    (
        "checkconfig",
        "\
Reports what this host offers and lacks for unprivileged containers: the namespaces, user \
namespaces, subordinate ids, newuidmap and newgidmap, cgroup delegation, overlayfs in a \
user namespace and the network helper, each missing item with the command that fixes it.",
    ),
    (
        "setup-user",
        "\
Prepares USER for unprivileged containers; run it as root. It gives the user subordinate \
uid and gid ranges that overlap nobody's, writes ~/.config/lxc/default.conf with the id \
maps and a veth on the bridge, allows the user veth devices in /etc/lxc/lxc-usernet and \
delegates cgroups. It changes only what is missing; --dry-run prints what it would \
change.",
    ),
    (
        "attach",
        "\
Runs a command in the running container NAME, or the shell of the user inside when no \
command is given: in all the container's namespaces, with its security settings \
(capabilities, seccomp profile, no_new_privs, LSM label; -e keeps the caller's \
privileges), as the uid and gid of the container's init or those of -u and -g.

The environment is the caller's plus container=lxc, or with --clear-env an empty one with \
container=lxc and a default PATH; -v and --keep-var add variables. When a standard stream \
is a terminal, the command gets a pseudo-terminal of the container.

The exit status is the command's.",
    ),
    (
        "console",
        "\
Connects this terminal to a tty of the running container NAME: the first free one, or \
the one of -t (0 is /dev/console). Ctrl+a q detaches, Ctrl+a Ctrl+a sends Ctrl+a; -e \
chooses another prefix letter. --log prints what the console showed lately and exits.",
    ),
    (
        "freeze",
        "\
Freezes every process of the running container NAME, through its monitor, which owns the \
container's cgroups.",
    ),
    (
        "unfreeze",
        "Thaws the frozen container NAME, through its monitor.",
    ),
    (
        "wait",
        "\
Waits until the container NAME is in one of the states of -s, separated by | (STOPPED, \
STARTING, RUNNING, STOPPING, ABORTING, FREEZING, FROZEN). The exit status is 0 once it is, \
1 after the seconds of -t.",
    ),
    (
        "copy",
        "\
Copies the stopped container NAME to the new container of -N, in the same lxcpath or in \
that of -p: the rootfs with its owners, modes, links and extended attributes, and the \
config with the new name as hostname (unless -K), new MAC addresses (unless -M) and its \
paths pointing into the new directory; /etc/hostname follows the name, and lxc.hook.clone \
runs. On a terminal a bar shows how far the copy is, unless -q.",
    ),
    (
        "snapshot",
        "\
Takes a snapshot of the stopped container NAME (snap0, snap1, ... in NAME/snaps, each \
with the time it was taken and, with -c FILE, a comment), lists them (-L, with -C their \
comments), restores one (-r SNAP, into NAME or as the new container of -N) or destroys one \
(-d SNAP, or ALL). As LXC's snapshots of directory-backed containers, they are full \
copies; on a terminal a bar shows how far the copy is, unless -q.",
    ),
    (
        "cgroup",
        "\
Prints the value of a cgroup file of the running container NAME (memory.max, \
memory.limit_in_bytes, cpu.weight, ...), or sets it to VALUE, through its monitor, which \
owns the container's cgroups.",
    ),
    (
        "execute",
        "\
Runs COMMAND as an application container of NAME's configuration, in the foreground, \
under a pid 1 that reaps orphans. The exit status is the command's.",
    ),
    (
        "autostart",
        "\
Starts the containers with lxc.start.auto = 1, in the order of lxc.start.order (then by \
name), waiting lxc.start.delay seconds after each. -s shuts them down instead (in reverse \
order; -t gives the seconds before a container that did not halt is killed), -k kills \
them, -r reboots them. -g chooses groups (lxc.group; an empty name stands for the \
containers in no group), -a every group, -A also the containers without lxc.start.auto; \
-L prints the containers instead of acting.",
    ),
    (
        "fix-layout",
        "\
Gives container directories made by older lxu versions (the user's, mode 0750) LXC's \
layout: owned by the container's root, group the user's, mode 0770, so that LXC's \
lxc-start runs them. -a does it for every container of the lxcpath.",
    ),
    (
        "net",
        "\
Sets up or tears down the host bridge for the containers' veth devices, with its \
addresses and a dnsmasq for DHCP and DNS. Run it as root.",
    ),
    (
        "net setup",
        "\
Creates the bridge, its IPv4 address (and IPv6, unless --ipv6 off) and a dnsmasq serving \
it; what exists already is kept.",
    ),
    (
        "net teardown",
        "\
Stops the bridge's dnsmasq and deletes the bridge; refused while devices are attached, \
unless --force.",
    ),
    (
        "image",
        "\
Runs lxu-image with the arguments: it builds, signs, publishes and serves images in LXC's \
download format (lxu-image --help says how).",
    ),
];

/// The description of the verb `path` (`start`, `net setup`); empty for an unknown one.
pub(crate) fn verb(path: &str) -> &'static str {
    VERBS
        .iter()
        .find(|(p, _)| *p == path)
        .map_or("", |(_, t)| t)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_verb_is_described() {
        fn walk(cmd: &clap::Command, path: &str) {
            for sub in cmd.get_subcommands() {
                let p = if path.is_empty() {
                    sub.get_name().to_string()
                } else {
                    format!("{path} {}", sub.get_name())
                };
                assert!(!super::verb(&p).is_empty(), "no text for `{p}`");
                walk(sub, &p);
            }
        }
        walk(&lxu::command(), "");
    }
}
