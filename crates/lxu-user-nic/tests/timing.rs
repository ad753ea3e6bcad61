//! Wall time of one `create`, measured around the helper alone (a shell
//! loop already running as the user inside the scenario), median of 30.

mod common;

use common::*;

#[test]
fn create_median_time_of_30_runs() {
    let Some(mut sc) = scenario(&format!("{USER1} veth lxutbr0 30\n"), &["lxutbr0"]) else {
        return;
    };
    let ct = sc.user_process(USER1, true);
    let helper = sc.helper.display().to_string();
    let script = format!(
        "for i in $(seq 30); do s=$(date +%s%N); {helper} create /l c {ct} veth lxutbr0 >/dev/null \
         || exit 1; e=$(date +%s%N); echo $((e - s)); done"
    );
    let r = sc.run_as(USER1, &["/bin/sh", "-c", &script]);
    assert!(r.ok, "{}", r.stderr);
    let mut ns: Vec<u64> = r
        .stdout
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert_eq!(ns.len(), 30);
    ns.sort_unstable();
    let median_ms = (ns[14] + ns[15]) as f64 / 2e6;
    eprintln!(
        "lxu-user-nic create: median {median_ms:.2} ms, min {:.2} ms, max {:.2} ms over 30 runs",
        ns[0] as f64 / 1e6,
        ns[29] as f64 / 1e6
    );
    assert_eq!(sc.db().lines().count(), 30);
    // Generous bound for a loaded 2-core CI machine; a regression to
    // something slow (e.g. a blocking wait) still trips it.
    assert!(median_ms < 250.0, "median {median_ms} ms");
}
