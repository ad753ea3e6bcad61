//! `lxu autostart` (`lxc-autostart`): start, stop, kill or reboot the containers of an
//! lxcpath marked `lxc.start.auto = 1`, group by group, in `lxc.start.order`.
//!
//! As LXC 5: groups are taken in the order given (an empty name is the "NULL" group of
//! containers without `lxc.group`; the default is that group alone), each group's
//! containers by ascending order then name (reversed for stop and kill), each container
//! once; `lxc.start.delay` seconds pass after each start or reboot.

use crate::container::{list_names, Container};
use crate::context::Context;
use crate::control::stop::{self, StopOptions};
use crate::error::{Chain, Result};
use crate::start::{self, StartOptions};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    /// Clean shutdown; with a timeout > 0, killed after it.
    Shutdown {
        timeout: i64,
    },
    Kill,
    Reboot,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub action: Action,
    /// `-g`: groups in order; `""` is the NULL group. `None`: the NULL group only.
    pub groups: Option<Vec<String>>,
    /// `-a`: every group.
    pub all: bool,
    /// `-A`: also containers without `lxc.start.auto = 1`.
    pub ignore_auto: bool,
}

/// A container picked for the action, with its `lxc.start.delay`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pick {
    pub name: String,
    pub delay: u32,
}

/// What the action applies to, in the order it is applied. Containers whose config does
/// not load are left out (with the reason, for the caller to print).
pub fn select(ctx: &Context, opts: &Options) -> (Vec<Pick>, Vec<String>) {
    let mut candidates = Vec::new();
    let mut problems = Vec::new();
    for name in list_names(&ctx.lxcpath) {
        let Ok(c) = Container::new(ctx, &name) else {
            continue;
        };
        match c.load_config() {
            Ok(cfg) if opts.ignore_auto || cfg.start_auto => candidates.push((name, cfg)),
            Ok(_) => {}
            Err(e) => problems.push(format!("{name}: {}", Chain(&e))),
        }
    }
    let groups: Vec<String> = if opts.all {
        vec![]
    } else {
        opts.groups.clone().unwrap_or_else(|| vec![String::new()])
    };
    let mut picks: Vec<Pick> = Vec::new();
    let take = |batch: Vec<&(String, lxu_config::Config)>, picks: &mut Vec<Pick>| {
        let mut batch: Vec<_> = batch
            .into_iter()
            .filter(|(n, _)| !picks.iter().any(|p| &p.name == n))
            .collect();
        batch.sort_by(|(a, ca), (b, cb)| ca.start_order.cmp(&cb.start_order).then(a.cmp(b)));
        if matches!(opts.action, Action::Shutdown { .. } | Action::Kill) {
            batch.reverse();
        }
        picks.extend(batch.into_iter().map(|(n, c)| Pick {
            name: n.clone(),
            delay: c.start_delay,
        }));
    };
    if opts.all {
        take(candidates.iter().collect(), &mut picks);
    } else {
        for g in &groups {
            let in_group = candidates
                .iter()
                .filter(|(_, c)| {
                    if g.is_empty() {
                        c.groups.is_empty()
                    } else {
                        c.groups.iter().any(|x| x == g)
                    }
                })
                .collect();
            take(in_group, &mut picks);
        }
    }
    (picks, problems)
}

/// Applies the action to each pick in turn; failures are reported and the rest goes on.
/// Returns the messages of the failures.
pub fn run(ctx: &Context, opts: &Options, picks: &[Pick]) -> Vec<String> {
    let mut failed = Vec::new();
    for p in picks {
        let c = match Container::new(ctx, &p.name) {
            Ok(c) => c,
            Err(e) => {
                failed.push(Chain(&e).to_string());
                continue;
            }
        };
        let stop_opts = match opts.action {
            Action::Start => None,
            Action::Shutdown { timeout } => Some(StopOptions {
                timeout: if timeout > 0 { timeout } else { -1 },
                nokill: timeout <= 0,
                ..StopOptions::default()
            }),
            Action::Kill => Some(StopOptions {
                kill: true,
                ..StopOptions::default()
            }),
            Action::Reboot => Some(StopOptions {
                reboot: true,
                ..StopOptions::default()
            }),
        };
        let r: Result<()> = match &stop_opts {
            None => start::start(ctx, &c, &StartOptions::default()).map(|_| ()),
            Some(so) => stop::stop(&c, so).map(|_| ()),
        };
        if let Err(e) = r {
            failed.push(format!("{}: {}", p.name, Chain(&e)));
            continue;
        }
        if matches!(opts.action, Action::Start | Action::Reboot) && p.delay > 0 {
            std::thread::sleep(std::time::Duration::from_secs(u64::from(p.delay)));
        }
    }
    failed
}
