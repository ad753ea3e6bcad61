//! What `lxu ls` and `lxu info` show about a container.

use lxu_config::Config;

use crate::container::Container;
use crate::error::Result;
use crate::monitor::socket::connect_monitor;
use crate::state::{State, Status};
use crate::wire::monitor::{Reply, Request};

/// One container as the listing sees it.
#[derive(Debug, Clone)]
pub struct Summary {
    pub name: String,
    pub status: Status,
    pub autostart: bool,
    pub groups: Vec<String>,
    pub unprivileged: bool,
    pub ipv4: Vec<String>,
    pub ipv6: Vec<String>,
    pub interfaces: Vec<String>,
    pub memory_bytes: Option<u64>,
    pub swap_bytes: Option<u64>,
    /// The config did not load; the listing still shows the name.
    pub config_error: Option<String>,
}

/// State, pid and the monitor's extra facts in one round trip.
pub fn live_info(c: &Container) -> Result<(Status, Vec<(String, String)>)> {
    let Some(conn) = connect_monitor(c)? else {
        crate::state::no_monitor(c);
        return Ok((Status::STOPPED, Vec::new()));
    };
    let facts = match conn.request(&Request::Info) {
        Ok((Reply::Info(facts), _)) => facts,
        // Its monitor (of another lxu version) is alive, so the container runs; its
        // details are unknown.
        Err(crate::Error::OtherVersion { .. }) => {
            let running = Status {
                state: State::Running,
                pid: None,
            };
            return Ok((running, Vec::new()));
        }
        _ => return Ok((Status::STOPPED, Vec::new())),
    };
    let get = |k: &str| facts.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str());
    let state = get("state")
        .and_then(State::parse)
        .unwrap_or(State::Stopped);
    let pid = get("pid")
        .and_then(|p| p.parse().ok())
        .filter(|&p: &i32| p > 0);
    Ok((Status { state, pid }, facts))
}

fn list_values(facts: &[(String, String)], key: &str) -> Vec<String> {
    facts
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .collect()
}

pub fn summarize(c: &Container) -> Summary {
    let (config, config_error) = match Config::load(&c.config_path()) {
        Ok(cfg) => (Some(cfg), None),
        Err(e) => (None, Some(crate::error::Chain(&e).to_string())),
    };
    let (status, facts) = live_info(c).unwrap_or((Status::STOPPED, Vec::new()));
    let num = |k: &str| {
        facts
            .iter()
            .find(|(a, _)| a == k)
            .and_then(|(_, v)| v.parse().ok())
    };
    Summary {
        name: c.name.clone(),
        status,
        autostart: config.as_ref().is_some_and(|c| c.start_auto),
        groups: config
            .as_ref()
            .map(|c| c.groups.clone())
            .unwrap_or_default(),
        unprivileged: config.as_ref().is_some_and(|c| !c.idmaps.is_empty()),
        ipv4: list_values(&facts, "ipv4"),
        ipv6: list_values(&facts, "ipv6"),
        interfaces: list_values(&facts, "interface"),
        memory_bytes: num("memory_bytes"),
        swap_bytes: num("swap_bytes"),
        config_error,
    }
}
