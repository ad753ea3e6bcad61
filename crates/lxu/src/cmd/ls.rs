//! `lxu ls` (`lxc-ls`): names, or the fancy table, or JSON.

use std::io::IsTerminal;

use anyhow::{bail, Context as _, Result};
use lxu_runtime::container::{list_names, Container};
use lxu_runtime::list::{summarize, Summary};
use lxu_runtime::{Context, State};

use crate::args::LsArgs;
use crate::output::{table, Json};

const DEFAULT_COLUMNS: &str = "NAME,STATE,AUTOSTART,GROUPS,IPV4,IPV6,UNPRIVILEGED";
const COLUMNS: &[&str] = &[
    "NAME",
    "STATE",
    "PID",
    "RAM",
    "SWAP",
    "AUTOSTART",
    "GROUPS",
    "INTERFACE",
    "IPV4",
    "IPV6",
    "UNPRIVILEGED",
];

fn joined(v: &[String]) -> String {
    if v.is_empty() {
        "-".into()
    } else {
        v.join(", ")
    }
}

fn mb(s: &Summary, v: Option<u64>) -> String {
    if !s.status.state.is_active() {
        return "-".into();
    }
    format!("{:.2}MB", v.unwrap_or(0) as f64 / (1024.0 * 1024.0))
}

fn cell(s: &Summary, col: &str) -> String {
    match col {
        "NAME" => s.name.clone(),
        "STATE" => s.status.state.to_string(),
        "PID" => s.status.pid.map_or("-".into(), |p| p.to_string()),
        "RAM" => mb(s, s.memory_bytes),
        "SWAP" => mb(s, s.swap_bytes),
        "AUTOSTART" => u8::from(s.autostart).to_string(),
        "GROUPS" => joined(&s.groups),
        "INTERFACE" => joined(&s.interfaces),
        "IPV4" => joined(&s.ipv4),
        "IPV6" => joined(&s.ipv6),
        "UNPRIVILEGED" => s.unprivileged.to_string(),
        _ => String::new(),
    }
}

fn json(s: &Summary) -> Json {
    let strs = |v: &[String]| Json::Arr(v.iter().map(|x| Json::Str(x.clone())).collect());
    let opt = |v: Option<u64>| v.map_or(Json::Null, |n| Json::Num(n as i64));
    Json::Obj(vec![
        ("name".into(), Json::Str(s.name.clone())),
        ("state".into(), Json::Str(s.status.state.to_string())),
        (
            "pid".into(),
            s.status.pid.map_or(Json::Null, |p| Json::Num(p.into())),
        ),
        ("autostart".into(), Json::Bool(s.autostart)),
        ("groups".into(), strs(&s.groups)),
        ("interfaces".into(), strs(&s.interfaces)),
        ("ipv4".into(), strs(&s.ipv4)),
        ("ipv6".into(), strs(&s.ipv6)),
        ("memory_bytes".into(), opt(s.memory_bytes)),
        ("swap_bytes".into(), opt(s.swap_bytes)),
        ("unprivileged".into(), Json::Bool(s.unprivileged)),
        (
            "config_error".into(),
            s.config_error.clone().map_or(Json::Null, Json::Str),
        ),
    ])
}

pub fn run(a: LsArgs) -> Result<i32> {
    let ctx = Context::new(a.lxcpath.as_deref())?;
    let json_out = match a.format.as_deref() {
        None | Some("table") => false,
        Some("json") => true,
        Some(f) => bail!("unknown format `{f}` (table or json)"),
    };
    let filter = a.filter.as_deref().or(a.regex.as_deref());
    let re = match filter {
        Some(f) => Some(regex_lite::Regex::new(f).with_context(|| format!("invalid regex `{f}`"))?),
        None => None,
    };
    let names: Vec<String> = list_names(&ctx.lxcpath)
        .into_iter()
        .filter(|n| re.as_ref().is_none_or(|r| r.is_match(n)))
        .collect();
    let columns: Vec<String> = a
        .fancy_format
        .as_deref()
        .unwrap_or(DEFAULT_COLUMNS)
        .split(',')
        .map(|c| c.trim().to_ascii_uppercase())
        .collect();
    for c in &columns {
        if !COLUMNS.contains(&c.as_str()) {
            bail!("invalid column `{c}` (valid: {})", COLUMNS.join(", "));
        }
    }
    let want_groups: Vec<String> = a
        .groups
        .as_deref()
        .map(|g| {
            g.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let by_state = a.active || a.running || a.frozen || a.stopped;
    let fancy = a.fancy || a.fancy_format.is_some();
    let need_summary = fancy || json_out || by_state || !want_groups.is_empty();
    if !need_summary {
        print_names(&names, a.line);
        return Ok(0);
    }
    let mut rows: Vec<Summary> = Vec::new();
    for n in &names {
        let Ok(c) = Container::at(&ctx.lxcpath, n) else {
            continue;
        };
        let s = summarize(&c);
        let st = s.status.state;
        let selected = !by_state
            || (a.active && st.is_active())
            || (a.running && matches!(st, State::Running | State::Starting | State::Stopping))
            || (a.frozen && matches!(st, State::Frozen | State::Freezing))
            || (a.stopped && st == State::Stopped);
        if !selected || !want_groups.iter().all(|g| s.groups.contains(g)) {
            continue;
        }
        rows.push(s);
    }
    if json_out {
        println!("{}", Json::Arr(rows.iter().map(json).collect()).render());
    } else if fancy {
        let cells: Vec<Vec<String>> = rows
            .iter()
            .map(|s| columns.iter().map(|c| cell(s, c)).collect())
            .collect();
        print!("{}", table(&columns, &cells));
    } else {
        let names: Vec<String> = rows.into_iter().map(|s| s.name).collect();
        print_names(&names, a.line);
    }
    Ok(0)
}

fn print_names(names: &[String], one_per_line: bool) {
    if one_per_line || !std::io::stdout().is_terminal() {
        for n in names {
            println!("{n}");
        }
        return;
    }
    let width = rustix::termios::tcgetwinsize(rustix::stdio::stdout())
        .map(|w| w.ws_col as usize)
        .unwrap_or(80)
        .max(20);
    let cell = names.iter().map(|n| n.len()).max().unwrap_or(0) + 2;
    let per_line = (width / cell).max(1);
    for chunk in names.chunks(per_line) {
        let line: String = chunk.iter().map(|n| format!("{n:<cell$}")).collect();
        println!("{}", line.trim_end());
    }
}
