//! `delete` releases the database lock while the kernel deletes the device, then takes
//! it again to drop the line. Meanwhile another run may cull the line (the device being
//! gone) and, its random pick falling on the same name, record a new device of the caller
//! under an identical line. The second half of `delete` must not drop that line: the new
//! device would escape the quota (one more each time the race is won).

mod common;

use std::time::{Duration, Instant};

use common::*;

const BR: &str = "lxutbr1";
const PEER: &str = "lxutrelock0";

#[test]
fn delete_keeps_an_identical_line_recorded_while_it_did_not_hold_the_lock() {
    let Some(mut sc) = scenario(&format!("{USER1} veth {BR} 1\n"), &[BR]) else {
        return;
    };
    let ct = sc.user_process(USER1, true);
    let r = sc.create(USER1, &ct.to_string(), BR, None);
    assert!(r.ok, "{r:?}");
    let nic = parse_output(&r.stdout).2;
    let db = sc.db();
    assert!(db.contains(&nic), "{db}");

    // First read (under the first lock) as usual, through a FIFO so that the second read
    // (under the second lock) can be held until the race is set up.
    sc.db_fifo();
    let netns = format!("/proc/{ct}/ns/net");
    let pid = sc.spawn_helper(USER1, &["delete", "/p", "c1", &netns, "veth", BR, &nic]);
    assert!(sc.feed_db(&db, Duration::from_secs(10)), "no first read");
    sc.db_fifo();
    // The device goes; what a concurrent create does then (cull the line, pick the same
    // name, record it) is played here: a new device `nic` and the same line.
    let deadline = Instant::now() + Duration::from_secs(10);
    while sc.host_veths().contains(&nic) {
        assert!(Instant::now() < deadline, "{nic} was not deleted");
        std::thread::sleep(Duration::from_millis(1));
    }
    sc.root_ok(&[
        "ip", "link", "add", &nic, "type", "veth", "peer", "name", PEER,
    ]);
    assert!(sc.feed_db(&db, Duration::from_secs(10)), "no second read");
    let r = sc
        .wait_helper(pid, Duration::from_secs(10))
        .expect("helper ended");
    // A run that changes nothing writes nothing: the FIFO is then still there.
    let fifo = std::fs::symlink_metadata(sc.dir.path().join("run-lxu/nics"))
        .is_ok_and(|m| std::os::unix::fs::FileTypeExt::is_fifo(&m.file_type()));
    let after = if fifo { db.clone() } else { sc.db() };
    let _ = sc.root(&["ip", "link", "del", &nic]);
    assert!(r.ok, "{r:?}");
    assert_eq!(
        after, db,
        "the line of the live device {nic} was dropped: it escapes the quota"
    );
}
