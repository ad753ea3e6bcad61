//! The template argument list of `lxc-create -t download -- …`, parsed the way LXC's
//! getopt call in `lxc-download` does (long options may be abbreviated, `--opt=value`,
//! clustered short options), plus the GPG-era options of LXC 1.0–4.0.11.

use std::path::PathBuf;

use crate::ImageError;

/// The server used when `--server` is not given.
pub(crate) const DEFAULT_SERVER: &str = "images.linuxcontainers.org";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OptionsError {
    #[error("unknown option `{0}` (see --help)")]
    Unknown(String),
    #[error("option `{0}` is ambiguous: it could be {1}")]
    Ambiguous(String, String),
    #[error("option `{0}` needs a value")]
    MissingValue(String),
    #[error("option `{0}` takes no value")]
    UnexpectedValue(String),
    #[error("unexpected argument `{0}`: the download template takes options only")]
    Positional(String),
    #[error("invalid value `{value}` for `{option}`: {reason}")]
    InvalidValue {
        option: String,
        value: String,
        reason: &'static str,
    },
}

/// Where images come from: always a base URL without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    base: String,
}

impl Server {
    /// Accepts LXC's form (`host[:port][/prefix]`, meaning HTTPS) and full
    /// `https://` / `http://` URLs.
    pub(crate) fn parse(value: &str) -> Result<Server, OptionsError> {
        let invalid = |reason| OptionsError::InvalidValue {
            option: "--server".into(),
            value: value.into(),
            reason,
        };
        if value.is_empty() {
            return Err(invalid("empty server"));
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("contains whitespace"));
        }
        let lower = value.to_ascii_lowercase();
        let (scheme, rest) = if lower.starts_with("https://") {
            ("https", &value[8..])
        } else if lower.starts_with("http://") {
            ("http", &value[7..])
        } else if value.contains("://") {
            return Err(invalid("only https:// and http:// are supported"));
        } else {
            ("https", value)
        };
        let rest = rest.trim_end_matches('/');
        let host = rest.split('/').next().unwrap_or("");
        if host.is_empty() {
            return Err(invalid("no host name"));
        }
        if rest.contains(['?', '#']) {
            return Err(invalid("a query or fragment is not allowed"));
        }
        Ok(Server {
            base: format!("{scheme}://{rest}"),
        })
    }

    pub(crate) fn is_https(&self) -> bool {
        self.base.starts_with("https://")
    }

    /// The URL LXC requests for a server-relative path: the path is pasted after a
    /// `/`, so a leading `/` in it yields the `//` real clients send.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path)
    }
}

impl Default for Server {
    fn default() -> Self {
        Server {
            base: format!("https://{DEFAULT_SERVER}"),
        }
    }
}

impl std::fmt::Display for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.base)
    }
}

/// Everything the download template accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadOptions {
    pub dist: Option<String>,
    pub release: Option<String>,
    /// The architecture to fetch; the host's (Debian naming) when not given.
    pub arch: String,
    /// Whether `-a/--arch` was given (the listing filters on arch only then).
    pub arch_given: bool,
    pub variant: String,
    pub server: Server,
    /// `--keyid`: restrict trust to this key (fingerprint or long key id, hex).
    pub keyid: Option<String>,
    /// `--keyring FILE`: extra trusted keys for this call.
    pub keyring: Option<PathBuf>,
    /// `--keyserver`: accepted for LXC 1.0 scripts, never contacted.
    pub keyserver: Option<String>,
    pub no_validate: bool,
    /// `--allow-downgrade`: accept a build older than the cached one, or unbound
    /// files for an image whose cached build was bound to a signed `SHA256SUMS`.
    pub allow_downgrade: bool,
    pub flush_cache: bool,
    pub force_cache: bool,
    pub list: bool,
    pub help: bool,
    pub name: Option<String>,
    pub path: Option<PathBuf>,
    pub rootfs: Option<PathBuf>,
    pub mapped_uid: Option<u32>,
    pub mapped_gid: Option<u32>,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        DownloadOptions {
            dist: None,
            release: None,
            arch: host_arch(),
            arch_given: false,
            variant: "default".into(),
            server: Server::default(),
            keyid: None,
            keyring: None,
            keyserver: None,
            no_validate: false,
            allow_downgrade: false,
            flush_cache: false,
            force_cache: false,
            list: false,
            help: false,
            name: None,
            path: None,
            rootfs: None,
            mapped_uid: None,
            mapped_gid: None,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Opt {
    Dist,
    Release,
    Arch,
    Variant,
    Server,
    KeyId,
    Keyring,
    Keyserver,
    NoValidate,
    AllowDowngrade,
    FlushCache,
    ForceCache,
    List,
    Help,
    Name,
    Path,
    Rootfs,
    MappedUid,
    MappedGid,
}

const LONG: &[(&str, Opt, bool)] = &[
    ("dist", Opt::Dist, true),
    ("release", Opt::Release, true),
    ("arch", Opt::Arch, true),
    ("variant", Opt::Variant, true),
    ("server", Opt::Server, true),
    ("keyid", Opt::KeyId, true),
    ("keyring", Opt::Keyring, true),
    ("keyserver", Opt::Keyserver, true),
    ("no-validate", Opt::NoValidate, false),
    ("allow-downgrade", Opt::AllowDowngrade, false),
    ("flush-cache", Opt::FlushCache, false),
    ("force-cache", Opt::ForceCache, false),
    ("list", Opt::List, false),
    ("help", Opt::Help, false),
    ("name", Opt::Name, true),
    ("path", Opt::Path, true),
    ("rootfs", Opt::Rootfs, true),
    ("mapped-uid", Opt::MappedUid, true),
    ("mapped-gid", Opt::MappedGid, true),
];

const SHORT: &[(char, Opt, bool)] = &[
    ('d', Opt::Dist, true),
    ('r', Opt::Release, true),
    ('a', Opt::Arch, true),
    ('l', Opt::List, false),
    ('h', Opt::Help, false),
];

fn lookup_long(name: &str) -> Result<(Opt, bool, &'static str), OptionsError> {
    if let Some((n, o, v)) = LONG.iter().find(|(n, _, _)| *n == name) {
        return Ok((*o, *v, n));
    }
    // getopt_long accepts any unambiguous prefix.
    let hits: Vec<_> = LONG
        .iter()
        .filter(|(n, _, _)| n.starts_with(name))
        .collect();
    match hits.as_slice() {
        [(n, o, v)] if !name.is_empty() => Ok((*o, *v, n)),
        [] | [_] => Err(OptionsError::Unknown(format!("--{name}"))),
        many => Err(OptionsError::Ambiguous(
            format!("--{name}"),
            many.iter()
                .map(|(n, _, _)| format!("--{n}"))
                .collect::<Vec<_>>()
                .join(", "),
        )),
    }
}

impl DownloadOptions {
    /// Parses LXC's template argument list.
    pub fn parse(args: &[String]) -> Result<DownloadOptions, ImageError> {
        Ok(Self::parse_inner(args)?)
    }

    fn parse_inner(args: &[String]) -> Result<DownloadOptions, OptionsError> {
        let mut o = DownloadOptions::default();
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            i += 1;
            if arg == "--" {
                if let Some(extra) = args.get(i) {
                    return Err(OptionsError::Positional(extra.clone()));
                }
                break;
            }
            if let Some(long) = arg.strip_prefix("--") {
                let (name, inline) = match long.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_string())),
                    None => (long, None),
                };
                let (opt, takes, full) = lookup_long(name)?;
                let value = if takes {
                    match inline {
                        Some(v) => Some(v),
                        None => {
                            let v = args
                                .get(i)
                                .ok_or_else(|| OptionsError::MissingValue(format!("--{full}")))?;
                            i += 1;
                            Some(v.clone())
                        }
                    }
                } else if inline.is_some() {
                    return Err(OptionsError::UnexpectedValue(format!("--{full}")));
                } else {
                    None
                };
                o.apply(opt, &format!("--{full}"), value)?;
            } else if let Some(cluster) = arg.strip_prefix('-').filter(|c| !c.is_empty()) {
                let chars: Vec<char> = cluster.chars().collect();
                let mut k = 0;
                while k < chars.len() {
                    let c = chars[k];
                    k += 1;
                    let (_, opt, takes) = SHORT
                        .iter()
                        .find(|(s, _, _)| *s == c)
                        .ok_or_else(|| OptionsError::Unknown(format!("-{c}")))?;
                    let value = if *takes {
                        let rest: String = chars[k..].iter().collect();
                        k = chars.len();
                        if !rest.is_empty() {
                            Some(rest)
                        } else {
                            let v = args
                                .get(i)
                                .ok_or_else(|| OptionsError::MissingValue(format!("-{c}")))?;
                            i += 1;
                            Some(v.clone())
                        }
                    } else {
                        None
                    };
                    o.apply(*opt, &format!("-{c}"), value)?;
                }
            } else {
                return Err(OptionsError::Positional(arg.clone()));
            }
        }
        Ok(o)
    }

    fn apply(&mut self, opt: Opt, flag: &str, value: Option<String>) -> Result<(), OptionsError> {
        let v = value.unwrap_or_default();
        let invalid = |reason| OptionsError::InvalidValue {
            option: flag.to_string(),
            value: v.clone(),
            reason,
        };
        match opt {
            Opt::Dist => self.dist = Some(selector(flag, &v)?),
            Opt::Release => self.release = Some(selector(flag, &v)?),
            Opt::Arch => {
                self.arch = selector(flag, &v)?;
                self.arch_given = true;
            }
            Opt::Variant => self.variant = selector(flag, &v)?,
            Opt::Server => self.server = Server::parse(&v)?,
            Opt::KeyId => {
                normalize_keyid(&v).ok_or_else(|| {
                    invalid(
                        "expected a hex fingerprint or 16-digit key id, e.g. 0xBAEFF88C22F6E216",
                    )
                })?;
                self.keyid = Some(v.clone());
            }
            Opt::Keyring => self.keyring = Some(PathBuf::from(&v)),
            Opt::Keyserver => self.keyserver = Some(v.clone()),
            Opt::NoValidate => self.no_validate = true,
            Opt::AllowDowngrade => self.allow_downgrade = true,
            Opt::FlushCache => self.flush_cache = true,
            Opt::ForceCache => self.force_cache = true,
            Opt::List => self.list = true,
            Opt::Help => self.help = true,
            Opt::Name => self.name = Some(v.clone()),
            Opt::Path => self.path = Some(PathBuf::from(&v)),
            Opt::Rootfs => self.rootfs = Some(PathBuf::from(&v)),
            Opt::MappedUid => self.mapped_uid = mapped_id(&v).map_err(invalid)?,
            Opt::MappedGid => self.mapped_gid = mapped_id(&v).map_err(invalid)?,
        }
        Ok(())
    }

    /// The `dist;release;arch;variant` being asked for, when complete.
    pub fn selector(&self) -> Option<(&str, &str, &str, &str)> {
        Some((
            self.dist.as_deref()?,
            self.release.as_deref()?,
            &self.arch,
            &self.variant,
        ))
    }
}

/// Dist/release/arch/variant become directory names of the cache, so they must be
/// one plain path component.
fn selector(flag: &str, v: &str) -> Result<String, OptionsError> {
    let bad = v.is_empty()
        || v.starts_with('.')
        || v.contains(['/', ';', '\0', '\n'])
        || v.chars().any(char::is_control);
    if bad {
        return Err(OptionsError::InvalidValue {
            option: flag.into(),
            value: v.into(),
            reason: "must be a non-empty name without `/`, `;` or a leading `.`",
        });
    }
    Ok(v.to_string())
}

/// LXC passes `-1` when there is no mapping.
fn mapped_id(v: &str) -> Result<Option<u32>, &'static str> {
    if v == "-1" {
        return Ok(None);
    }
    v.parse::<u32>()
        .map(Some)
        .map_err(|_| "expected a numeric id")
}

/// Upper-case hex of a `--keyid` value (`0x` prefix and spaces dropped): 16 digits
/// (long key id) or 40/64 digits (v4/v6 fingerprint). Short 8-digit ids are refused:
/// they collide trivially.
pub(crate) fn normalize_keyid(v: &str) -> Option<String> {
    let s: String = v.chars().filter(|c| !c.is_whitespace()).collect();
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(&s);
    let ok_len = matches!(s.len(), 16 | 40 | 64);
    if ok_len && s.chars().all(|c| c.is_ascii_hexdigit()) {
        Some(s.to_ascii_uppercase())
    } else {
        None
    }
}

/// The host architecture in the Debian naming the image index uses.
pub(crate) fn host_arch() -> String {
    let uname = rustix::system::uname();
    debian_arch(&uname.machine().to_string_lossy())
}

/// Maps a kernel machine name (`uname -m`) to the Debian architecture name.
pub(crate) fn debian_arch(machine: &str) -> String {
    let a = match machine {
        "x86_64" => "amd64",
        "i386" | "i486" | "i586" | "i686" => "i386",
        "aarch64" | "arm64" => "arm64",
        "armv7l" | "armv7b" | "armv8l" => "armhf",
        "armv5tel" | "armv5tejl" | "armv6l" | "armel" => "armel",
        "ppc64le" => "ppc64el",
        "ppc64" => "powerpc64",
        "ppc" => "powerpc",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        "loongarch64" => "loong64",
        "mips64" => "mips64el",
        other => other,
    };
    a.to_string()
}

/// The help text of the download template, GPG-era options included.
pub fn usage() -> &'static str {
    "LXC container image downloader (lxu)

Special arguments:
[ -h | --help ]: Print this help message and exit
[ -l | --list ]: List all available images and exit

Required arguments:
[ -d | --dist <distribution> ]: The name of the distribution
[ -r | --release <release> ]: Release name/version
[ -a | --arch <architecture> ]: Architecture of the container (default: the host's)

Optional arguments:
[ --variant <variant> ]: Variant of the image (default: \"default\")
[ --server <server> ]: Image server (default: \"images.linuxcontainers.org\");
                       host[:port][/prefix] means https, or give a full http(s):// URL
[ --keyid <keyid> ]: Only trust signatures by this key (fingerprint or long id)
[ --keyring <file> ]: Also trust the keys in this file
[ --keyserver <keyserver> ]: Accepted for compatibility; keys are never fetched
[ --no-validate ]: UNSAFE: skip every signature and checksum check; whoever
                   serves or intercepts the download chooses the rootfs
[ --allow-downgrade ]: Accept a build older than the cached one (a replayed
                   old index is refused without it)
[ --flush-cache ]: Flush the local copy (if present)
[ --force-cache ]: Force the use of the local copy even if expired

LXC internal arguments (do not pass manually!):
[ --name <name> ]: The container name
[ --path <path> ]: The path to the container
[ --rootfs <rootfs> ]: The path to the container's rootfs
[ --mapped-uid <map> ]: A uid map (user namespaces)
[ --mapped-gid <map> ]: A gid map (user namespaces)
"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<DownloadOptions, OptionsError> {
        let v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        DownloadOptions::parse_inner(&v)
    }

    #[test]
    fn lxc_create_argument_list() {
        let o = parse(&[
            "--path=/home/u/.local/share/lxc/c1",
            "--name=c1",
            "--rootfs=/home/u/.local/share/lxc/c1/rootfs",
            "-d",
            "debian",
            "-r",
            "bookworm",
            "-a",
            "amd64",
            "--mapped-uid",
            "65536",
            "--mapped-gid",
            "65536",
        ])
        .unwrap();
        assert_eq!(
            o.selector(),
            Some(("debian", "bookworm", "amd64", "default"))
        );
        assert_eq!(o.name.as_deref(), Some("c1"));
        assert_eq!(
            o.rootfs.as_deref(),
            Some(std::path::Path::new("/home/u/.local/share/lxc/c1/rootfs"))
        );
        assert_eq!(o.mapped_uid, Some(65536));
        assert!(o.arch_given);
    }

    #[test]
    fn short_clusters_abbreviations_and_flags() {
        let o = parse(&[
            "-ddebian",
            "-lr",
            "trixie",
            "--var",
            "cloud",
            "--no-validate",
            "--flush-cache",
            "--force-cache",
            "--keyserver",
            "hkp://keyserver.ubuntu.com",
            "--keyid=0xE7FB0CAEC8173D669066514CBAEFF88C22F6E216",
            "--keyring",
            "/tmp/k.asc",
            "--mapped-uid=-1",
        ])
        .unwrap();
        assert_eq!(o.dist.as_deref(), Some("debian"));
        assert_eq!(o.release.as_deref(), Some("trixie"));
        assert!(o.list && o.no_validate && o.flush_cache && o.force_cache);
        assert_eq!(o.variant, "cloud");
        assert_eq!(o.mapped_uid, None);
        assert_eq!(o.keyring, Some(PathBuf::from("/tmp/k.asc")));
        assert!(!o.arch_given);
        assert_eq!(o.arch, host_arch());
    }

    #[test]
    fn errors_name_the_option() {
        assert_eq!(
            parse(&["--frobnicate"]),
            Err(OptionsError::Unknown("--frobnicate".into()))
        );
        assert!(matches!(
            parse(&["--key", "x"]),
            Err(OptionsError::Ambiguous(..))
        ));
        assert_eq!(parse(&["-d"]), Err(OptionsError::MissingValue("-d".into())));
        assert_eq!(
            parse(&["--list=yes"]),
            Err(OptionsError::UnexpectedValue("--list".into()))
        );
        assert_eq!(
            parse(&["debian"]),
            Err(OptionsError::Positional("debian".into()))
        );
        assert!(matches!(
            parse(&["-d", "../x"]),
            Err(OptionsError::InvalidValue { .. })
        ));
        assert!(matches!(
            parse(&["--keyid", "22F6E216"]),
            Err(OptionsError::InvalidValue { .. })
        ));
        assert!(matches!(
            parse(&["--mapped-uid", "x"]),
            Err(OptionsError::InvalidValue { .. })
        ));
    }

    #[test]
    fn server_forms() {
        let s = |v: &str| Server::parse(v).map(|s| s.to_string());
        assert_eq!(
            s("images.linuxcontainers.org").unwrap(),
            "https://images.linuxcontainers.org"
        );
        assert_eq!(
            s("mirror.example:8443/lxc-images/").unwrap(),
            "https://mirror.example:8443/lxc-images"
        );
        assert_eq!(s("http://127.0.0.1:8080").unwrap(), "http://127.0.0.1:8080");
        assert_eq!(s("HTTPS://Host/p").unwrap(), "https://Host/p");
        assert!(s("ftp://x").is_err());
        assert!(s("https://").is_err());
        assert!(s("").is_err());
        assert!(s("a b").is_err());
        let srv = Server::parse("images.linuxcontainers.org").unwrap();
        assert_eq!(
            srv.url("/meta/1.0/index-user"),
            "https://images.linuxcontainers.org//meta/1.0/index-user"
        );
        assert_eq!(DownloadOptions::default().server, srv);
    }

    #[test]
    fn keyid_normalisation() {
        assert_eq!(
            normalize_keyid("0xbaeff88c22f6e216").as_deref(),
            Some("BAEFF88C22F6E216")
        );
        assert_eq!(
            normalize_keyid("E7FB 0CAE C817 3D66 9066  514C BAEF F88C 22F6 E216").as_deref(),
            Some("E7FB0CAEC8173D669066514CBAEFF88C22F6E216")
        );
        assert_eq!(normalize_keyid("0x22F6E216"), None);
        assert_eq!(normalize_keyid("zz"), None);
    }

    #[test]
    fn arch_names() {
        assert_eq!(debian_arch("x86_64"), "amd64");
        assert_eq!(debian_arch("i686"), "i386");
        assert_eq!(debian_arch("aarch64"), "arm64");
        assert_eq!(debian_arch("armv7l"), "armhf");
        assert_eq!(debian_arch("ppc64le"), "ppc64el");
        assert_eq!(debian_arch("riscv64"), "riscv64");
        assert!(!host_arch().is_empty());
        assert!(usage().contains("--no-validate"));
    }
}
