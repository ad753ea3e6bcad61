//! `/etc/lxc/lxc-usernet`: which user (or `@group`) may create how many nics
//! of which type on which bridge.
//!
//! One rule per line, `<user|@group> <type> <bridge> <count>`, separated by
//! blanks. Like LXC, every line that matches the user (or one of their
//! groups), the type and the bridge counts, in file order. Blank lines and
//! lines starting with `#` are comments; any other line that does not have
//! exactly that shape (an optional trailing `# comment` aside) is ignored and
//! reported as a warning with its line number, so a typo never silently
//! grants or removes access without a trace.

use std::fmt;

/// The system-wide rules file (the same one LXC's `lxc-user-nic` reads).
pub const USERNET_PATH: &str = "/etc/lxc/lxc-usernet";

/// One rule that applies to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowance {
    /// The rule's first word: the user name, or `@group`. This is what the
    /// nics database records as the owner, so a group's devices count
    /// against the group, shared by all its members.
    pub owner: String,
    /// Link type; LXC only knows `veth`.
    pub kind: String,
    pub bridge: String,
    pub count: u32,
    /// 1-based line number in the file.
    pub line: usize,
}

/// A line that was ignored because it does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub line: usize,
    pub text: String,
    pub reason: &'static str,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{USERNET_PATH} line {}: ignored ({}): {:?}",
            self.line, self.reason, self.text
        )
    }
}

/// A parsed rule, before matching it against a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub owner: String,
    pub kind: String,
    pub bridge: String,
    pub count: u32,
    pub line: usize,
}

/// Parses every line; malformed ones come back as warnings.
pub fn parse(text: &str) -> (Vec<Rule>, Vec<Warning>) {
    let mut rules = Vec::new();
    let mut warnings = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let content = raw.trim();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let words: Vec<&str> = content.split_ascii_whitespace().collect();
        let warn = |reason| Warning {
            line,
            text: raw.to_string(),
            reason,
        };
        let (fields, rest) = words.split_at(words.len().min(4));
        if fields.len() < 4 {
            warnings.push(warn("expected `<user|@group> <type> <bridge> <count>`"));
            continue;
        }
        if rest.first().is_some_and(|w| !w.starts_with('#')) {
            warnings.push(warn("unexpected text after the count"));
            continue;
        }
        let owner = fields[0];
        if owner == "@" || !owner.bytes().all(|b| b.is_ascii_graphic()) {
            warnings.push(warn("invalid user or group name"));
            continue;
        }
        // Strict decimal: LXC's sscanf("%d") would take "-1", "+3" or "2x".
        let Some(count) = fields[3]
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| fields[3].parse::<u32>().ok())
            .flatten()
        else {
            warnings.push(warn("count is not a non-negative integer"));
            continue;
        };
        rules.push(Rule {
            owner: owner.to_string(),
            kind: fields[1].to_string(),
            bridge: fields[2].to_string(),
            count,
            line,
        });
    }
    (rules, warnings)
}

/// The malformed lines of `text`, which [`allowances`] skips; callers
/// should show these to whoever can fix the file.
pub fn warnings(text: &str) -> Vec<Warning> {
    parse(text).1
}

/// Rules that apply to `user` (whose group names are `groups`), in file
/// order, whatever their type and bridge. Malformed lines are skipped; see
/// [`warnings`].
pub fn allowances(text: &str, user: &str, groups: &[String]) -> Vec<Allowance> {
    parse(text)
        .0
        .into_iter()
        .filter(|r| match r.owner.strip_prefix('@') {
            Some(g) => groups.iter().any(|mine| mine == g),
            None => r.owner == user,
        })
        .map(|r| Allowance {
            owner: r.owner,
            kind: r.kind,
            bridge: r.bridge,
            count: r.count,
            line: r.line,
        })
        .collect()
}

/// The allowance for one type and bridge, with each owner's counts summed
/// over its lines; owners stay in order of first appearance, which is the
/// order in which quota is taken from them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quota {
    pub owners: Vec<(String, u32)>,
    /// Lines that contributed, for messages.
    pub lines: Vec<usize>,
}

impl Quota {
    pub fn total(&self) -> u64 {
        self.owners.iter().map(|(_, n)| u64::from(*n)).sum()
    }
}

/// Sums `allowances` for `kind` on `bridge`. `None` when no line matches.
pub fn quota(allowances: &[Allowance], kind: &str, bridge: &str) -> Option<Quota> {
    let mut q = Quota {
        owners: Vec::new(),
        lines: Vec::new(),
    };
    for a in allowances
        .iter()
        .filter(|a| a.kind == kind && a.bridge == bridge)
    {
        q.lines.push(a.line);
        match q.owners.iter_mut().find(|(o, _)| *o == a.owner) {
            Some((_, n)) => *n = n.saturating_add(a.count),
            None => q.owners.push((a.owner.clone(), a.count)),
        }
    }
    (!q.lines.is_empty()).then_some(q)
}

/// "line 3" or "lines 3, 5".
pub fn describe_lines(lines: &[usize]) -> String {
    let list: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    match list.len() {
        1 => format!("{USERNET_PATH} line {}", list[0]),
        _ => format!("{USERNET_PATH} lines {}", list.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
# comment
alice veth lxcbr0 2
bob veth lxcbr0 5
@lxcusers veth lxcbr0 3

alice veth br1 1 # trailing comment
alice veth lxcbr0 oops
alice veth
alice\tveth\tlxcbr0\t4
alice veth lxcbr0 -1
alice veth lxcbr0 +3
alice veth lxcbr0 2x
alice veth lxcbr0 1 extra
@staff veth lxcbr0 7
alice macvlan lxcbr0 9
";

    fn groups(g: &[&str]) -> Vec<String> {
        g.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn user_and_group_lines_in_file_order() {
        let a = allowances(FILE, "alice", &groups(&["lxcusers"]));
        let summary: Vec<(&str, &str, &str, u32, usize)> = a
            .iter()
            .map(|a| (&*a.owner, &*a.kind, &*a.bridge, a.count, a.line))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("alice", "veth", "lxcbr0", 2, 2),
                ("@lxcusers", "veth", "lxcbr0", 3, 4),
                ("alice", "veth", "br1", 1, 6),
                ("alice", "veth", "lxcbr0", 4, 9),
                ("alice", "macvlan", "lxcbr0", 9, 15),
            ]
        );
    }

    #[test]
    fn malformed_lines_warned_with_numbers_rest_applied() {
        let w = warnings(FILE);
        let lines: Vec<usize> = w.iter().map(|w| w.line).collect();
        assert_eq!(lines, vec![7, 8, 10, 11, 12, 13]);
        assert!(w[0].to_string().contains("/etc/lxc/lxc-usernet line 7"));
        assert!(w[0].to_string().contains("oops"));
    }

    #[test]
    fn counts_are_summed_per_owner() {
        let a = allowances(FILE, "alice", &groups(&["lxcusers", "staff"]));
        let q = quota(&a, "veth", "lxcbr0").unwrap();
        assert_eq!(
            q.owners,
            vec![
                ("alice".to_string(), 6),
                ("@lxcusers".to_string(), 3),
                ("@staff".to_string(), 7)
            ]
        );
        assert_eq!(q.total(), 16);
        assert_eq!(q.lines, vec![2, 4, 9, 14]);
        assert_eq!(
            describe_lines(&q.lines),
            "/etc/lxc/lxc-usernet lines 2, 4, 9, 14"
        );
    }

    #[test]
    fn no_match_means_no_quota() {
        let a = allowances(FILE, "carol", &groups(&["nogroup"]));
        assert!(a.is_empty());
        assert!(quota(&a, "veth", "lxcbr0").is_none());
        // Matching is whole-word: a user named "ali" is not "alice", and a
        // bridge "lxcbr" is not "lxcbr0".
        let a = allowances(FILE, "ali", &[]);
        assert!(a.is_empty());
        let a = allowances(FILE, "alice", &[]);
        assert!(quota(&a, "veth", "lxcbr").is_none());
        // "@bob" in the file would be a group; user "bob" does not match it
        // through a group named "bob" unless they are in that group.
        let a = allowances("@bob veth lxcbr0 1\n", "bob", &[]);
        assert!(a.is_empty());
    }

    #[test]
    fn zero_count_matches_but_grants_nothing() {
        let a = allowances("alice veth lxcbr0 0\n", "alice", &[]);
        assert!(warnings("alice veth lxcbr0 0\n").is_empty());
        let q = quota(&a, "veth", "lxcbr0").unwrap();
        assert_eq!(q.total(), 0);
    }
}
