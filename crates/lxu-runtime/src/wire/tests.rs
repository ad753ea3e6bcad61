use std::error::Error as _;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::AsFd;
use std::path::PathBuf;

use lxu_sys::channel::Channel;
use rustix::thread::ThreadNameSpaceType as Ns;

use super::helper::{FromAttachHelper, FromNsHelper, ToHelper};
use super::init::{CgroupBind, FromInit, Go, Nic, ToInit};
use super::monitor::{Frame, Reply, Request, StopMode};
use super::report::Report;
use super::*;
use crate::state::State;

/// Encodes and decodes `m`; every shorter prefix and one byte more must be refused.
fn round_trip<M: Message + PartialEq + std::fmt::Debug>(m: M) {
    let bytes = same_after_round_trip(&m);
    for n in 0..bytes.len() {
        let e = M::from_bytes(&bytes[..n]).unwrap_err();
        assert_eq!(e.message, M::NAME);
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(
        M::from_bytes(&longer),
        Err(WireError {
            message: M::NAME,
            problem: Problem::Trailing(1)
        })
    );
}

fn same_after_round_trip<M: Message + PartialEq + std::fmt::Debug>(m: &M) -> Vec<u8> {
    let bytes = m.to_bytes();
    assert!(!bytes.is_empty(), "an empty packet reads as end-of-file");
    assert_eq!(M::from_bytes(&bytes).as_ref(), Ok(m), "{}", M::NAME);
    bytes
}

fn error_chain() -> RemoteError {
    let io = std::io::Error::from_raw_os_error(libc::ENOENT);
    let e = crate::Error::io("open", "/x", io);
    RemoteError::of(&e)
}

#[test]
fn init_messages_round_trip() {
    round_trip(ToInit::Go(Go::default()));
    round_trip(ToInit::Go(Go {
        nics: vec![
            Nic {
                ifname: "eth0".into(),
                gateway4: Some(Ipv4Addr::new(10, 0, 3, 1)),
                gateway6: None,
            },
            Nic {
                ifname: "eth1".into(),
                gateway4: None,
                gateway6: Some(Ipv6Addr::LOCALHOST),
            },
        ],
        cgroups: vec![CgroupBind {
            host: PathBuf::from("/sys/fs/cgroup/unified/lxu/c1"),
            name: "unified".into(),
        }],
    }));
    round_trip(ToInit::Continue);
    round_trip(FromInit::NetnsReady);
    round_trip(FromInit::Ptys {
        console: true,
        ttys: 4,
        netlink: false,
    });
    round_trip(FromInit::Exec);
    round_trip(FromInit::Failed(RemoteError::new("c1: pivot_root: EINVAL")));
}

#[test]
fn command_socket_messages_round_trip() {
    for req in [
        Request::State,
        Request::Info,
        Request::Pidfd,
        Request::Freeze,
        Request::Unfreeze,
        Request::Cgroup {
            key: "memory.max".into(),
            value: None,
        },
        Request::Cgroup {
            key: "memory.max".into(),
            value: Some("1G 2".into()),
        },
        Request::Stop {
            mode: StopMode::Halt,
            timeout: -1,
            nokill: true,
        },
        Request::Stop {
            mode: StopMode::Reboot,
            timeout: 60,
            nokill: false,
        },
        Request::Console { tty: -1 },
        Request::Log { tty: 3 },
    ] {
        round_trip(req);
    }
    for state in State::ALL {
        round_trip(Reply::State { state, pid: 42 });
    }
    round_trip(Reply::Done);
    round_trip(Reply::Info(vec![
        ("state".into(), "RUNNING".into()),
        ("ipv4".into(), "10.0.3.5".into()),
        ("ipv4".into(), "10.0.3.6".into()),
    ]));
    round_trip(Reply::Pidfd {
        pid: 7,
        devpts: true,
        namespaces: Ns::MOUNT | Ns::USER | Ns::NETWORK,
        cgroup_procs: vec![PathBuf::from("/sys/fs/cgroup/a/cgroup.procs")],
    });
    round_trip(Reply::Tty(2));
    round_trip(Reply::Log(131072));
    round_trip(Reply::Value("max\n".into()));
    round_trip(Reply::Failed(error_chain()));
    round_trip(Frame::Winsize { rows: 24, cols: 80 });
    // Console data runs to the end of the packet: any length is a frame.
    same_after_round_trip(&Frame::Data(b"login: ".to_vec()));
    same_after_round_trip(&Frame::Data(Vec::new()));
    assert_eq!(
        Frame::data_bytes(b"abc"),
        Frame::Data(b"abc".to_vec()).to_bytes()
    );
}

#[test]
fn helper_messages_round_trip() {
    round_trip(ToHelper::MapsWritten);
    round_trip(FromNsHelper::Done);
    round_trip(FromNsHelper::Failed(RemoteError::new("chown `/x`: EPERM")));
    round_trip(ToHelper::CgroupsJoined);
    round_trip(FromAttachHelper::Started { pid: 9, pty: true });
    round_trip(FromAttachHelper::Failed(RemoteError::new("fork: EAGAIN")));
}

#[test]
fn reports_are_framed_on_the_pipe() {
    let reports = vec![
        Report::Warning("c1: no cgroups".into()),
        Report::Warning("second".into()),
        Report::Started { pid: 1234 },
    ];
    let bytes: Vec<u8> = reports.iter().flat_map(|r| r.framed()).collect();
    assert_eq!(Report::parse_all(&bytes), Ok(reports));
    round_trip(Report::Failed(error_chain()));
    let e = Report::parse_all(&bytes[..bytes.len() - 1]).unwrap_err();
    assert_eq!(e.message, Report::NAME);
    assert_eq!(Report::parse_all(&[]), Ok(Vec::new()));
}

#[test]
fn an_error_keeps_its_causes_across_the_wire() {
    let e = error_chain();
    let back = FromInit::from_bytes(&FromInit::Failed(e.clone()).to_bytes()).unwrap();
    let FromInit::Failed(back) = back else {
        panic!("{back:?}")
    };
    assert_eq!(back, e);
    assert_eq!(
        back.to_string(),
        crate::Error::io("open", "/x", enoent()).to_string()
    );
    assert_eq!(
        back.source().map(|s| s.to_string()),
        Some(enoent().to_string())
    );
    let err: crate::Error = back.into();
    assert_eq!(err.to_string(), e.to_string());
}

fn enoent() -> std::io::Error {
    std::io::Error::from_raw_os_error(libc::ENOENT)
}

#[test]
fn malformed_messages_say_which_and_why() {
    use super::monitor::{MAGIC, VERSION};
    let e = Request::from_bytes(&[]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "malformed request to the monitor: it is empty"
    );
    let e = Request::from_bytes(&[MAGIC, VERSION, 77]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "malformed request to the monitor: unknown kind 77"
    );
    let e = Request::from_bytes(&[MAGIC, VERSION, 1, 0]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "malformed request to the monitor: 1 bytes after its end"
    );
    let e = Reply::from_bytes(&[MAGIC, VERSION, 2, 200, 0, 0, 0, 0]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "malformed reply from the monitor: unknown state"
    );
    let e = FromInit::from_bytes(&[2, 1, 0]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "malformed message from init to the monitor: it ends early"
    );
    let e = FromInit::from_bytes(&[2, 2, 0, 0, 0, 0, 0]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "malformed message from init to the monitor: a flag is neither 0 nor 1"
    );
    // A length that claims more than the packet holds is refused before allocating.
    let e = Reply::from_bytes(&[MAGIC, VERSION, 3, 0xff, 0xff, 0xff, 0xff]).unwrap_err();
    assert_eq!(e.problem, Problem::Truncated);
    let mut bad_text = vec![MAGIC, VERSION, 7, 2, 0, 0, 0];
    bad_text.extend_from_slice(&[0xff, 0xfe]);
    let e = Reply::from_bytes(&bad_text).unwrap_err();
    assert_eq!(
        e.to_string(),
        "malformed reply from the monitor: its text is not UTF-8"
    );
    let e = Reply::from_bytes(&[MAGIC, VERSION, 8, 0, 0, 0, 0]).unwrap_err();
    assert_eq!(e.problem, Problem::Invalid("an error without a message"));
}

#[test]
fn descriptors_are_counted_on_receipt() {
    let (a, b) = Channel::pair().unwrap();
    let null = std::fs::File::open("/dev/null").unwrap();
    // Announces one descriptor (the pidfd) but comes with two.
    let reply = Reply::Pidfd {
        pid: 1,
        devpts: false,
        namespaces: Ns::MOUNT,
        cgroup_procs: Vec::new(),
    };
    a.send(&reply.to_bytes(), &[null.as_fd(), null.as_fd()])
        .unwrap();
    match recv::<Reply>(&b) {
        Err(RecvError::Wire(e)) => assert_eq!(
            e.to_string(),
            "malformed reply from the monitor: it came with 2 descriptors instead of 1"
        ),
        other => panic!("{other:?}"),
    }
    send(&a, &reply, &[null.as_fd()]).unwrap();
    let (got, fds) = recv::<Reply>(&b).unwrap().unwrap();
    assert_eq!((got, fds.len()), (reply, 1));
    drop(a);
    assert!(recv::<Reply>(&b).unwrap().is_none());
}

/// Requests and replies start with a mark no kind of an lxu without versions had, then the
/// version: such a monitor refuses our requests (unknown kind) instead of misreading them,
/// and a reply without the mark, or of another version, is named as such.
#[test]
fn monitor_messages_carry_a_version() {
    use super::monitor::{MAGIC, VERSION};
    for bytes in [Request::State.to_bytes(), Reply::Done.to_bytes()] {
        assert_eq!(bytes[..2], [MAGIC, VERSION]);
    }
    let mut old_failed = Writer::default();
    old_failed.kind(8);
    RemoteError::new("malformed request to the monitor: unknown kind 167").encode(&mut old_failed);
    let unversioned = WireError {
        message: Reply::NAME,
        problem: Problem::Unversioned,
    };
    assert_eq!(
        Reply::from_bytes(&old_failed.into_bytes()),
        Err(unversioned)
    );
    let newer = [MAGIC, VERSION + 1, 1];
    let e = Reply::from_bytes(&newer).unwrap_err();
    assert_eq!(e.problem, Problem::Version(VERSION + 1));
    assert_eq!(
        Request::from_bytes(&newer).unwrap_err().problem,
        Problem::Version(VERSION + 1)
    );
}

/// A client talking to a monitor of another version gets an error that says so, names
/// the container and the monitor's pid, and says how to stop it.
#[test]
fn a_monitor_of_another_version_is_named_as_such() {
    use crate::monitor::socket::MonitorConn;
    let (client, monitor) = Channel::pair().unwrap();
    let conn = MonitorConn::over(client, "web1", Some(4242));
    // What a monitor without versions answers: a `State` reply, kind 2, RUNNING, pid 77.
    monitor.send(&[2, 2, 77, 0, 0, 0], &[]).unwrap();
    let e = conn.request(&Request::State).unwrap_err();
    assert!(
        matches!(
            e,
            crate::Error::OtherVersion {
                theirs: None,
                monitor: Some(4242),
                ..
            }
        ),
        "{e:?}"
    );
    let text = e.to_string();
    for want in [
        "container web1 is run by a monitor of another lxu version",
        "monitor pid 4242",
        "lxu stop -n web1",
    ] {
        assert!(text.contains(want), "{want:?} not in {text:?}");
    }
    monitor.send(&[super::monitor::MAGIC, 9, 1], &[]).unwrap();
    let e = conn.reply(&Request::State).unwrap_err();
    assert!(
        matches!(
            e,
            crate::Error::OtherVersion {
                theirs: Some(9),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("protocol version 9"), "{e}");
}
