//! `lxc.include` with a relative path is resolved against the current
//! directory, like LXC. Alone in its binary because it changes the cwd.

mod common;

use common::Scratch;
use lxu_config::{Config, ConfigError};

#[test]
fn relative_include_is_relative_to_cwd() {
    let s = Scratch::new("relinc");
    s.write("sub/inc.conf", "lxc.tty.max = 7\n");
    s.write("sub/d/a.conf", "lxc.pty.max = 9\n");
    let top = s.write(
        "top/config",
        "lxc.include = sub/inc.conf\nlxc.include = sub/d/\n",
    );
    let old = std::env::current_dir().unwrap();
    std::env::set_current_dir(&s.0).unwrap();
    let c = Config::load(&top);
    // From elsewhere the same include is missing.
    std::env::set_current_dir(s.0.join("top")).unwrap();
    let missing = Config::load(&top);
    std::env::set_current_dir(old).unwrap();
    let c = c.unwrap();
    assert_eq!((c.tty_max, c.pty_max), (7, 9));
    assert!(matches!(missing, Err(ConfigError::Include { .. })));
}
