//! The lxc-user-nic command line. `lxcpath` and `name` are accepted for
//! compatibility and never used (never opened, never printed).

use std::ffi::OsString;
use std::path::PathBuf;

use lxu_net::ifname;

use crate::error::HelperError;

#[derive(Debug, PartialEq, Eq)]
pub enum Request {
    Create {
        pid_arg: String,
        /// `None` when the argument is not a plain positive decimal; that is
        /// refused later with the generic namespace message.
        pid: Option<u32>,
        bridge: String,
        ifname: Option<String>,
    },
    Delete {
        netns_path: PathBuf,
        netns_arg: String,
        bridge: String,
        nic: String,
    },
}

pub fn parse(argv: &[OsString]) -> Result<Request, HelperError> {
    if !(7..=8).contains(&argv.len()) {
        return Err(HelperError::Usage);
    }
    let text = |i: usize| argv[i].to_str();
    let kind = text(5).ok_or(HelperError::Usage)?;
    if kind != "veth" {
        return Err(HelperError::Type(kind.escape_debug().to_string()));
    }
    let bridge = name_arg(&argv[6], ifname::is_valid)?;
    match text(1) {
        Some("create") => {
            let pid_arg = argv[4].to_string_lossy().into_owned();
            let pid = Some(pid_arg.as_str())
                .filter(|s| !s.is_empty() && s.len() <= 10 && s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse::<u32>().ok())
                .filter(|p| *p > 0 && *p <= i32::MAX as u32);
            let ifname = match argv.get(7) {
                Some(a) => Some(name_arg(a, ifname::is_valid_template)?),
                None => None,
            };
            Ok(Request::Create {
                pid_arg,
                pid,
                bridge,
                ifname,
            })
        }
        Some("delete") if argv.len() == 8 => Ok(Request::Delete {
            netns_path: PathBuf::from(&argv[4]),
            netns_arg: argv[4].to_string_lossy().into_owned(),
            bridge,
            nic: name_arg(&argv[7], ifname::is_valid)?,
        }),
        _ => Err(HelperError::Usage),
    }
}

fn name_arg(arg: &OsString, valid: fn(&str) -> bool) -> Result<String, HelperError> {
    match arg.to_str() {
        Some(s) if valid(s) => Ok(s.to_string()),
        _ => Err(HelperError::BadName(
            arg.to_string_lossy().escape_debug().to_string(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    /// `parse` of a command line whose words have no spaces.
    fn words(line: &str) -> Result<Request, HelperError> {
        parse(&argv(&line.split(' ').collect::<Vec<_>>()))
    }

    #[test]
    fn create_with_and_without_ifname() {
        assert_eq!(
            words("x create /p c1 123 veth lxcbr0").unwrap(),
            Request::Create {
                pid_arg: "123".to_string(),
                pid: Some(123),
                bridge: "lxcbr0".to_string(),
                ifname: None
            }
        );
        let r = words("x create /p c1 123 veth br eth%d").unwrap();
        assert!(matches!(r, Request::Create { ifname: Some(ref n), .. } if n == "eth%d"));
    }

    #[test]
    fn odd_pids_become_none_not_errors() {
        for p in [
            "",
            "0",
            "-1",
            "+5",
            "1/../1",
            "12a",
            "99999999999",
            "4294967295",
            " 1",
        ] {
            let r = parse(&argv(&["x", "create", "/p", "c", p, "veth", "br"])).unwrap();
            assert!(matches!(r, Request::Create { pid: None, .. }), "{p:?}");
        }
    }

    #[test]
    fn delete_takes_a_path() {
        assert_eq!(
            words("x delete /p c /proc/7/ns/net veth lxcbr0 veth1000_abcd").unwrap(),
            Request::Delete {
                netns_path: PathBuf::from("/proc/7/ns/net"),
                netns_arg: "/proc/7/ns/net".to_string(),
                bridge: "lxcbr0".to_string(),
                nic: "veth1000_abcd".to_string()
            }
        );
        // delete needs the nic
        assert!(matches!(
            words("x delete /p c /proc/7/ns/net veth br"),
            Err(HelperError::Usage)
        ));
    }

    #[test]
    fn refusals() {
        for line in ["x create", "x frob /p c 1 veth br"] {
            assert!(matches!(words(line), Err(HelperError::Usage)), "{line}");
        }
        assert!(matches!(
            words("x create /p c 1 macvlan br"),
            Err(HelperError::Type(_))
        ));
        let bad_names = [
            ["create", "1", "br 0", ""],
            ["create", "1", "br/0", ""],
            ["create", "1", "", ""],
            ["create", "1", "averyveryverylongbridge", ""],
            ["create", "1", "b\nr", ""],
            ["create", "1", "br", "eth 0"],
            ["delete", "/x", "br", "a:b"],
        ];
        for [verb, target, bridge, name] in bad_names {
            let mut a = vec!["x", verb, "/p", "c", target, "veth", bridge];
            a.extend((!name.is_empty()).then_some(name));
            assert!(
                matches!(parse(&argv(&a)), Err(HelperError::BadName(_))),
                "{a:?}"
            );
        }
    }
}
