//! The manual page `lxu.container.conf(5)`, rendered in roff (man(7) macros) from
//! the key table, so that it lists exactly the keys the parser knows.

use std::fmt::Write as _;

use crate::keys::{
    families, simple_keys, Family, HookType, NetKey, Repeat, Section, SimpleKey, LEGACY_NET_PREFIX,
    NET_KEYS, NET_PREFIX, REMOVED, SECTIONS,
};

/// `lxu.container.conf(5)` for lxu `version`, as roff source for man(1).
pub fn man_page(version: &str) -> String {
    let mut page = Page::default();
    page.macro_line(&format!(
        ".TH LXU.CONTAINER.CONF 5 \"\" \"lxu {}\" \"File Formats\"",
        quoted_arg(version)
    ));
    page.heading("NAME");
    page.raw("lxu.container.conf \\- container configuration of lxu, in LXC's format");
    page.heading("SYNOPSIS");
    page.raw("\\fI~/.local/share/lxc/NAME/config\\fR");
    page.macro_line(".br");
    page.raw("\\fI/var/lib/lxc/NAME/config\\fR");
    description(&mut page);
    keys(&mut page);
    network(&mut page);
    id_mapping(&mut page);
    hooks(&mut page);
    legacy(&mut page);
    examples(&mut page);
    page.heading("SEE ALSO");
    let see_also: Vec<String> = SEE_ALSO
        .iter()
        .map(|(page, section)| format!("{}({section})", bold(page)))
        .collect();
    page.raw(&see_also.join(", "));
    page.text
}

const SEE_ALSO: &[(&str, u8)] = &[
    ("lxu", 1),
    ("lxu-create", 1),
    ("lxu-start", 1),
    ("lxu-info", 1),
    ("lxu-autostart", 1),
    ("lxu-update-config", 1),
    ("lxc.container.conf", 5),
    ("fstab", 5),
    ("capabilities", 7),
    ("cgroups", 7),
    ("namespaces", 7),
    ("user_namespaces", 7),
    ("setrlimit", 2),
    ("seccomp", 2),
    ("sysctl", 8),
];

/// Roff source being written; every text line goes through [`Page::text`] or
/// [`Page::raw`], so no line starts a request by accident.
#[derive(Default)]
struct Page {
    text: String,
}

impl Page {
    /// A request line (`.SH`, `.TP`, …), written as given.
    fn macro_line(&mut self, line: &str) {
        debug_assert!(line.starts_with('.'));
        self.text.push_str(line);
        self.text.push('\n');
    }

    fn heading(&mut self, title: &str) {
        self.macro_line(&format!(".SH {title}"));
    }

    fn subheading(&mut self, title: &str) {
        self.macro_line(&format!(".SS {}", quoted_arg(title)));
    }

    fn paragraph(&mut self, text: &str) {
        self.macro_line(".PP");
        self.text(text);
    }

    /// Prose with `code` spans, escaped.
    fn text(&mut self, text: &str) {
        self.raw(&inline(text));
    }

    /// Roff text that is already escaped.
    fn raw(&mut self, roff: &str) {
        for line in roff.split('\n') {
            if line.starts_with(['.', '\'']) {
                self.text.push_str("\\&");
            }
            self.text.push_str(line);
            self.text.push('\n');
        }
    }

    /// A tagged paragraph: `tag` (escaped roff) above the indented `body` (prose).
    fn item(&mut self, tag: &str, body: &str) {
        self.macro_line(".TP");
        self.raw(tag);
        self.text(body);
    }

    /// Lines shown as written, in a monospaced block.
    fn example(&mut self, lines: &str) {
        self.macro_line(".PP");
        self.macro_line(".RS 4");
        self.macro_line(".nf");
        self.raw(&escape(lines));
        self.macro_line(".fi");
        self.macro_line(".RE");
    }
}

/// Escapes text for roff: backslashes, hyphens (so they stay ASCII hyphens in key
/// names) and the ellipsis character.
fn escape(text: &str) -> String {
    text.replace('\\', "\\e")
        .replace('-', "\\-")
        .replace('…', "...")
}

/// [`escape`], with `code` spans set in bold.
fn inline(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in escape(text).split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "\\fB{part}\\fR");
        } else {
            out.push_str(part);
        }
    }
    out
}

/// A macro argument: escaped, and without the quotes that would end it.
fn quoted_arg(text: &str) -> String {
    escape(text).replace('"', "")
}

fn bold(s: &str) -> String {
    format!("\\fB{}\\fR", escape(s))
}

fn italic(s: &str) -> String {
    format!("\\fI{}\\fR", escape(s))
}

/// `lxc.cgroup.<file>` with the placeholder in italics.
fn family_name(prefix: &str, suffix: &str) -> String {
    let part = suffix.trim_start_matches('<').trim_end_matches('>');
    format!("\\fB{}.\\fI{}\\fR", escape(prefix), escape(part))
}

fn description(page: &mut Page) {
    page.heading("DESCRIPTION");
    page.text(
        "A container's configuration is a text file of `key = value` lines, read from top \
         to bottom. lxu reads the keys of LXC 3.0 and later (this page) and the older names of \
         LXC 1.0 and 2.0 (see LEGACY KEYS), so the same file works with LXC's tools and with \
         lxu's.",
    );
    page.paragraph(
        "Spaces and tabs around the key, the `=` and the value are ignored; a value in matching \
         double or single quotes loses them. A line whose first non-blank character is `#` is a \
         comment; a `#` later in a line is part of the value. Blank lines, comments and lines \
         that do not start with `lxc.` are ignored, and kept when lxu rewrites the file. A line \
         that starts with `lxc.` but has no `=` makes the whole file invalid, as does an unknown \
         key or a value a key does not accept; the error names the file and the line.",
    );
    page.paragraph(
        "For most keys the last line wins. Keys marked repeatable collect their values in \
         order. An empty value (`lxc.mount.entry =`) undoes what earlier lines of that key set: \
         a single setting returns to its default, a repeatable key forgets every value. Several \
         keys name a group and only take an empty value, which clears the group: `lxc.net`, \
         `lxc.net.N`, `lxc.cgroup`, `lxc.cgroup2`, `lxc.prlimit`, `lxc.sysctl`, `lxc.proc` and \
         `lxc.hook`.",
    );
    page.paragraph(
        "`lxc.include` reads another file (or every `*.conf` file of a directory, in name order) \
         at the point where it stands, so later lines can override what the included file set; \
         distribution images include LXC's `common.conf` and `userns.conf` this way. A relative \
         path is relative to the current directory. A missing directory is skipped, a missing \
         file is an error, and includes that loop or nest deeper than 16 levels are refused.",
    );
    page.paragraph(
        "`lxu info -c KEY` (`lxc-info -c KEY`) prints a key's effective value: the values of a \
         repeatable key one per line, numeric settings with their defaults, and for a group key \
         its `key = value` lines.",
    );
}

fn keys(page: &mut Page) {
    page.heading("KEYS");
    page.text(
        "Values written in capitals are placeholders. A SIGNAL is a number from 1 to 64, a \
         name with or without `SIG` (`SIGPWR`, `pwr`) or `SIGRTMIN+N`/`SIGRTMAX-N`. A 0|1 key \
         takes exactly `0` or `1`. Where a key says that lxu checks its value and does not act \
         on it, the key is accepted so that LXC's files load, and ignored when the container \
         runs.",
    );
    for section in SECTIONS {
        key_section(page, section);
    }
}

fn key_section(page: &mut Page, section: &Section) {
    page.subheading(section.title);
    for key in section.keys {
        simple_item(page, key);
    }
    for fam in section.families {
        family_item(page, fam);
    }
}

fn simple_item(page: &mut Page, key: &SimpleKey) {
    let tag = format!("{} = {}", bold(key.name), italic(key.syntax));
    let mut body = key.doc.to_string();
    if let Some(old) = key.legacy {
        let _ = write!(body, " Before LXC 3.0: `{old}`.");
    }
    page.item(&tag, &body);
}

fn family_item(page: &mut Page, fam: &Family) {
    let tag = format!(
        "{} = {}",
        family_name(fam.prefix, fam.suffix),
        italic(fam.syntax)
    );
    let mut body = fam.doc.to_string();
    let one = format!("{}.{}", fam.prefix, fam.suffix);
    match fam.repeat {
        Repeat::Append => {
            let _ = write!(body, " An empty `{one}` removes the values of that one");
        }
        Repeat::Replace => {
            let _ = write!(body, " An empty `{one}` removes that setting");
        }
    }
    if fam.bare {
        let _ = write!(body, ", an empty `{}` all of them.", fam.prefix);
    } else {
        body.push('.');
    }
    if let Some(old) = fam.legacy {
        let _ = write!(body, " Before LXC 3.0: `{old}.{}`.", fam.suffix);
    }
    page.item(&tag, &body);
}

fn network(page: &mut Page) {
    page.heading("NETWORK");
    page.text(&format!(
        "Each network interface of the container is numbered: its keys are \
         `{NET_PREFIX}.N.<key>`, and the interface exists from its `{NET_PREFIX}.N.type` line \
         on (other keys of N before it are an error). A container without interfaces still \
         gets a network namespace of its own, with only loopback; an interface of type `none` \
         shares the host's instead. An empty `{NET_PREFIX}.N` removes interface N, an empty \
         `{NET_PREFIX}` every interface."
    ));
    page.paragraph(&format!(
        "LXC 1.0 wrote `{LEGACY_NET_PREFIX}.<key>` without a number: each \
         `{LEGACY_NET_PREFIX}.type` line opens the next interface and the keys after it apply \
         to that one; an empty `{LEGACY_NET_PREFIX}.type` removes all interfaces. Later 1.x \
         versions also accept `{LEGACY_NET_PREFIX}.N.<key>` for the N-th interface so opened. \
         The keys 1.0 knew have their old name below."
    ));
    for key in NET_KEYS {
        net_item(page, key);
    }
}

fn net_item(page: &mut Page, key: &NetKey) {
    let tag = format!(
        "\\fB{}.\\fIN\\fB.{}\\fR = {}",
        escape(NET_PREFIX),
        escape(key.name),
        italic(key.syntax)
    );
    let mut body = key.doc.to_string();
    if let Some(old) = key.legacy {
        let _ = write!(body, " LXC 1.0: `{LEGACY_NET_PREFIX}.{old}`.");
    }
    page.item(&tag, &body);
}

fn id_mapping(page: &mut Page) {
    page.heading("ID MAPPING");
    page.text(
        "`lxc.idmap = u 0 100000 65536` maps the container's user ids 0 to 65535 to the host's \
         100000 to 165535; a `g` line does the same for group ids. A container with at least \
         one map runs in a user namespace and is unprivileged: its root is an ordinary user on \
         the host. The host ranges must be delegated to the user who starts the container in \
         /etc/subuid and /etc/subgid (`lxu setup-user` adds them); the kernel refuses ranges of \
         one kind that overlap.",
    );
}

fn hooks(page: &mut Page) {
    page.heading("HOOKS");
    page.text(
        "`lxc.hook.<name> = COMMAND` runs COMMAND with `/bin/sh -c` at one point of the \
         container's life; a hook that fails before init runs fails the start. Hooks get `LXC_NAME`, `LXC_CONFIG_FILE`, \
         `LXC_ROOTFS_PATH`, `LXC_ROOTFS_MOUNT` and `LXC_HOOK_TYPE` among other `LXC_*` \
         variables, and with `lxc.hook.version = 0` also the container name, `lxc` and the hook \
         type as arguments. The hook types, in the order they run:",
    );
    for &h in HookType::ALL {
        page.item(&bold(&format!("lxc.hook.{}", h.name())), h.doc());
    }
}

fn legacy(page: &mut Page) {
    page.heading("LEGACY KEYS");
    page.text(
        "LXC 3.0 renamed these keys; lxu reads both names. `lxu update-config -c FILE` \
         (`lxc-update-config`) rewrites a file with the new names, numbers LXC 1.0's network \
         sections and keeps a copy of the old file as FILE.backup.",
    );
    page.macro_line(".PP");
    page.macro_line(".RS 4");
    page.macro_line(".nf");
    let renames = simple_keys()
        .filter_map(|k| Some((k.legacy?.to_string(), k.name.to_string())))
        .chain(families().filter_map(|f| {
            let old = f.legacy?;
            Some((
                format!("{old}.{}", f.suffix),
                format!("{}.{}", f.prefix, f.suffix),
            ))
        }))
        .chain(NET_KEYS.iter().filter_map(|k| {
            Some((
                format!("{LEGACY_NET_PREFIX}.{}", k.legacy?),
                format!("{NET_PREFIX}.N.{}", k.name),
            ))
        }));
    for (old, new) in renames {
        page.raw(&format!("{:<32} {}", escape(&old), escape(&new)));
    }
    page.macro_line(".fi");
    page.macro_line(".RE");
    let removed: Vec<String> = REMOVED.iter().map(|k| format!("`{k}`")).collect();
    page.paragraph(&format!(
        "{} have no successor: lxu accepts and ignores them, and `lxu update-config` deletes \
         their lines.",
        removed.join(", ")
    ));
}

fn examples(page: &mut Page) {
    page.heading("EXAMPLES");
    page.text("An unprivileged Debian container that starts at boot:");
    page.example(EXAMPLE);
}

/// A config file the EXAMPLES section shows (and the tests evaluate).
const EXAMPLE: &str = "# Container web, owned by alice
lxc.include = /usr/share/lxc/config/debian.common.conf
lxc.include = /usr/share/lxc/config/debian.userns.conf
lxc.arch = amd64
lxc.uts.name = web
lxc.rootfs.path = dir:/home/alice/.local/share/lxc/web/rootfs
lxc.idmap = u 0 231072 65536
lxc.idmap = g 0 231072 65536

# One interface on the bridge lxcbr0; lxc-create completes the MAC
lxc.net.0.type = veth
lxc.net.0.link = lxcbr0
lxc.net.0.flags = up
lxc.net.0.hwaddr = 00:16:3e:xx:xx:xx
lxc.net.0.ipv4.address = 10.0.3.20/24
lxc.net.0.ipv4.gateway = auto

# Started by lxc-autostart, before containers of a higher order
lxc.start.auto = 1
lxc.start.order = 10
lxc.cgroup2.memory.max = 512M
lxc.prlimit.nofile = 4096
lxc.mount.entry = /srv/www srv/www none bind,ro,create=dir 0 0";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::legacy_net_key;

    fn page() -> String {
        man_page("1.2.3-rc1")
    }

    #[test]
    fn every_key_of_the_table_is_documented() {
        let p = page();
        for k in simple_keys() {
            assert!(p.contains(&bold(k.name)), "{}", k.name);
            if let Some(old) = k.legacy {
                assert!(p.contains(&escape(old)), "{old}");
            }
        }
        for f in families() {
            assert!(p.contains(&family_name(f.prefix, f.suffix)), "{}", f.prefix);
        }
        for k in NET_KEYS {
            assert!(
                p.contains(&format!("\\fIN\\fB.{}\\fR", escape(k.name))),
                "{}",
                k.name
            );
        }
        for h in HookType::ALL {
            assert!(
                p.contains(&bold(&format!("lxc.hook.{}", h.name()))),
                "{h:?}"
            );
        }
        for k in REMOVED {
            assert!(p.contains(&escape(k)), "{k}");
        }
        assert!(legacy_net_key("ipv4").is_some() && p.contains("lxc.network.ipv4 "));
    }

    #[test]
    fn roff_is_well_formed() {
        let p = page();
        let lines: Vec<&str> = p.lines().collect();
        assert!(
            lines[0].starts_with(".TH LXU.CONTAINER.CONF 5 ") && lines[0].contains("1.2.3\\-rc1")
        );
        let requests = [
            ".TH", ".SH", ".SS", ".TP", ".PP", ".RS", ".RE", ".nf", ".fi", ".br",
        ];
        let mut filled = true;
        for line in &lines {
            assert!(!line.starts_with('\''), "{line}");
            if line.starts_with('.') {
                let req = line.split(' ').next().unwrap();
                assert!(requests.contains(&req), "{line}");
                match req {
                    ".nf" => filled = false,
                    ".fi" => filled = true,
                    _ => {}
                }
                continue;
            }
            assert!(line.is_ascii(), "{line}");
            assert!(!line.contains('`'), "{line}");
            if filled {
                assert!(!line.trim().is_empty(), "blank text line in filled text");
            }
            // Every hyphen is escaped, every backslash starts an escape.
            let b = line.as_bytes();
            for (i, &c) in b.iter().enumerate() {
                if c == b'-' {
                    assert!(i > 0 && b[i - 1] == b'\\', "{line}");
                }
                if c == b'\\' && (i == 0 || b[i - 1] != b'\\') {
                    let next = b.get(i + 1).copied().unwrap_or(b' ');
                    assert!(b"-efI&B(R\\".contains(&next) || next == b'|', "{line}");
                }
            }
            // Font changes come back to roman on the line.
            if let Some(at) = line.rfind("\\f") {
                assert!(line[at..].starts_with("\\fR"), "{line}");
            }
        }
        assert!(filled, ".nf without .fi");
        for s in [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "KEYS",
            "NETWORK",
            "ID MAPPING",
            "HOOKS",
        ] {
            assert!(lines.contains(&format!(".SH {s}").as_str()), "{s}");
        }
        assert!(lines.contains(&".SH SEE ALSO"));
    }

    #[test]
    fn the_example_is_a_valid_config() {
        // Without its includes, which are files of the lxc package.
        let own: Vec<&str> = EXAMPLE
            .lines()
            .filter(|l| !l.starts_with("lxc.include"))
            .collect();
        let c = crate::Config::parse_str(&own.join("\n"), std::path::Path::new("/x")).unwrap();
        assert_eq!(c.networks.len(), 1);
        assert!(c.is_unprivileged() && c.start_auto);
    }

    #[test]
    fn text_cannot_start_a_request() {
        let mut p = Page::default();
        p.text(".include `x-y` \\ 'quoted'\n'second");
        assert_eq!(
            p.text,
            "\\&.include \\fBx\\-y\\fR \\e 'quoted'\n\\&'second\n"
        );
    }
}
