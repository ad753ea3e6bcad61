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

    #[test]
    fn create_with_and_without_ifname() {
        let r = parse(&argv(&["x", "create", "/p", "c1", "123", "veth", "lxcbr0"])).unwrap();
        assert_eq!(
            r,
            Request::Create {
                pid_arg: "123".to_string(),
                pid: Some(123),
                bridge: "lxcbr0".to_string(),
                ifname: None
            }
        );
        let r = parse(&argv(&[
            "x", "create", "/p", "c1", "123", "veth", "br", "eth%d",
        ]))
        .unwrap();
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
        let r = parse(&argv(&[
            "x",
            "delete",
            "/p",
            "c",
            "/proc/7/ns/net",
            "veth",
            "lxcbr0",
            "veth1000_abcd",
        ]))
        .unwrap();
        assert_eq!(
            r,
            Request::Delete {
                netns_path: PathBuf::from("/proc/7/ns/net"),
                netns_arg: "/proc/7/ns/net".to_string(),
                bridge: "lxcbr0".to_string(),
                nic: "veth1000_abcd".to_string()
            }
        );
        // delete needs the nic
        assert!(matches!(
            parse(&argv(&[
                "x",
                "delete",
                "/p",
                "c",
                "/proc/7/ns/net",
                "veth",
                "br"
            ])),
            Err(HelperError::Usage)
        ));
    }

    #[test]
    fn refusals() {
        assert!(matches!(
            parse(&argv(&["x", "create"])),
            Err(HelperError::Usage)
        ));
        assert!(matches!(
            parse(&argv(&["x", "frob", "/p", "c", "1", "veth", "br"])),
            Err(HelperError::Usage)
        ));
        assert!(matches!(
            parse(&argv(&["x", "create", "/p", "c", "1", "macvlan", "br"])),
            Err(HelperError::Type(_))
        ));
        for bad in ["br 0", "br/0", "", "averyveryverylongbridge", "b\nr"] {
            assert!(
                matches!(
                    parse(&argv(&["x", "create", "/p", "c", "1", "veth", bad])),
                    Err(HelperError::BadName(_))
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            parse(&argv(&[
                "x", "create", "/p", "c", "1", "veth", "br", "eth 0"
            ])),
            Err(HelperError::BadName(_))
        ));
        assert!(matches!(
            parse(&argv(&[
                "x", "delete", "/p", "c", "/x", "veth", "br", "a:b"
            ])),
            Err(HelperError::BadName(_))
        ));
    }
}
