//! `lxu info` (`lxc-info`): `printf("%-15s %s")` lines as LXC prints them, or JSON.

use anyhow::{bail, Result};
use lxu_config::Config;
use lxu_runtime::list::live_info;

use crate::args::{name_and_rest, InfoArgs};
use crate::output::{human_bytes, Json};

fn fact<'a>(facts: &'a [(String, String)], key: &str) -> Option<&'a str> {
    facts
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn facts_all<'a>(facts: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    facts
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

fn line(label: &str, value: impl std::fmt::Display) {
    println!("{:<15} {}", format!("{label}:"), value);
}

pub fn run(a: InfoArgs) -> Result<i32> {
    let (name, _) = name_and_rest(&a.common, &a.rest);
    let (_ctx, c) = super::target(&a.common, name)?;
    c.ensure_exists()?;
    let json_out = match a.format.as_deref() {
        None | Some("text") => false,
        Some("json") => true,
        Some(f) => bail!("unknown format `{f}` (text or json)"),
    };
    let (status, facts) = live_info(&c)?;
    let running = status.state.is_active();
    let config_values: Vec<(String, Option<String>)> = if a.config.is_empty() {
        Vec::new()
    } else {
        let cfg = Config::load(&c.config_path())?;
        a.config
            .iter()
            .map(|k| (k.clone(), cfg.get_item(k)))
            .collect()
    };
    let num = |k: &str| fact(&facts, k).and_then(|v| v.parse::<u64>().ok());

    if json_out {
        let mut obj = vec![
            ("name".to_string(), Json::Str(c.name.clone())),
            ("state".to_string(), Json::Str(status.state.to_string())),
            (
                "pid".to_string(),
                status.pid.map_or(Json::Null, |p| Json::Num(p.into())),
            ),
            (
                "ips".to_string(),
                Json::Arr(
                    facts_all(&facts, "ipv4")
                        .into_iter()
                        .chain(facts_all(&facts, "ipv6"))
                        .map(|s| Json::Str(s.to_string()))
                        .collect(),
                ),
            ),
        ];
        for (k, key) in [
            ("cpu_ns", "cpu_ns"),
            ("blkio_bytes", "blkio_bytes"),
            ("memory_bytes", "memory_bytes"),
            ("kmem_bytes", "kmem_bytes"),
            ("pids", "pids"),
        ] {
            obj.push((
                k.to_string(),
                num(key).map_or(Json::Null, |n| Json::Num(n as i64)),
            ));
        }
        for (k, v) in &config_values {
            obj.push((k.clone(), v.clone().map_or(Json::Null, Json::Str)));
        }
        println!("{}", Json::Obj(obj).render());
        return Ok(0);
    }

    let selected = [a.state, a.pid, a.ips, a.stats]
        .iter()
        .filter(|x| **x)
        .count();
    let everything = selected == 0 && a.config.is_empty();
    // With -H and exactly one of -s/-p/-i, LXC prints the bare value.
    let bare = a.no_humanize && selected == 1 && !a.stats && a.config.is_empty();

    for (k, v) in &config_values {
        match v {
            Some(v) if a.no_humanize && a.config.len() == 1 && selected == 0 => println!("{v}"),
            Some(v) => println!("{k} = {v}"),
            None => bail!("unknown config key `{k}`"),
        }
    }
    if everything {
        line("Name", &c.name);
    }
    if everything || a.state {
        if bare {
            println!("{}", status.state);
        } else {
            line("State", status.state);
        }
    }
    if !running {
        return Ok(0);
    }
    if everything || a.pid {
        if let Some(pid) = status.pid {
            if bare {
                println!("{pid}");
            } else {
                line("PID", pid);
            }
        }
    }
    if everything || a.ips {
        for ip in facts_all(&facts, "ipv4")
            .into_iter()
            .chain(facts_all(&facts, "ipv6"))
        {
            if bare {
                println!("{ip}");
            } else {
                line("IP", ip);
            }
        }
    }
    if everything || a.stats {
        let size = |n: u64| {
            if a.no_humanize {
                n.to_string()
            } else {
                human_bytes(n)
            }
        };
        if let Some(ns) = num("cpu_ns") {
            if a.no_humanize {
                line("CPU use", ns);
            } else {
                line("CPU use", format!("{:.2} seconds", ns as f64 / 1e9));
            }
        }
        if let Some(b) = num("blkio_bytes") {
            line("BlkIO use", size(b));
        }
        if let Some(b) = num("memory_bytes") {
            line("Memory use", size(b));
        }
        if let Some(b) = num("kmem_bytes") {
            line("KMem use", size(b));
        }
        for l in facts_all(&facts, "link") {
            // "link NAME TX RX" lines from the monitor.
            let f: Vec<&str> = l.split_whitespace().collect();
            if let [name, tx, rx] = f[..] {
                let (tx, rx): (u64, u64) = (tx.parse().unwrap_or(0), rx.parse().unwrap_or(0));
                line("Link", name);
                line(" TX bytes", size(tx));
                line(" RX bytes", size(rx));
                line(" Total bytes", size(tx + rx));
            }
        }
    }
    Ok(0)
}
