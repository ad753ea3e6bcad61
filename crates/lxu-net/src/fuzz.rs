//! Bodies of the `cargo fuzz` targets (`fuzz/`), shared with the corpus tests that run
//! on stable (`tests/fuzz_corpus.rs`), so CI replays every corpus input and crash
//! through the same code. Not an API.

use crate::{nicdb, usernet};

/// The `nicdb` target: the database text the setuid helper reads. Valid entries
/// written back out must read back as the same entries, with no line lost or split.
pub fn nicdb(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (entries, bad) = nicdb::parse(&text);
    assert!(bad.iter().all(|&n| n >= 1 && n <= text.lines().count()));
    let written: String = entries.iter().map(nicdb::NicEntry::line).collect();
    let (again, bad_again) = nicdb::parse(&written);
    assert_eq!(
        again, entries,
        "nics database entries do not survive a write"
    );
    assert!(
        bad_again.is_empty(),
        "a written nics database has malformed lines"
    );
}

/// The `usernet` target: `/etc/lxc/lxc-usernet`, matched for the first rule's owner
/// (as a user, and as a member of the group it names) and summed per type and bridge.
pub fn usernet(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (rules, warnings) = usernet::parse(&text);
    for w in &warnings {
        let _ = w.to_string();
    }
    let Some(first) = rules.first() else {
        return;
    };
    let group = first.owner.strip_prefix('@').unwrap_or(&first.owner);
    let mine = usernet::allowances(&text, &first.owner, &[group.to_string()]);
    assert!(
        !mine.is_empty(),
        "the first rule does not apply to its own owner"
    );
    if let Some(q) = usernet::quota(&mine, &first.kind, &first.bridge) {
        let _ = q.total();
        let _ = usernet::describe_lines(&q.lines);
    }
}
