//! One `lxc-create -t download`: index → select → cache check → download and
//! verify → cache, as `lxc-download` does it, and `--list`.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::cache::{self, CacheLock};
use crate::fetch::{FetchError, Fetcher, Target, COMPAT_LEVEL};
use crate::index::{self, Index, IndexEntry, ListFilter};
use crate::manifest::{self, BuildInfo, ManifestError, Sums};
use crate::meta::{self, ImageMeta, Mode};
use crate::options::{DownloadOptions, Server};
use crate::trust::{self, Keyring, TrustError};
use crate::ImageError;
use lxu_progress::Progress;

const MAX_INDEX: u64 = 16 * 1024 * 1024;
const MAX_SIGNATURE: u64 = 64 * 1024;
/// How much earlier than its build serial a `SHA256SUMS` may be signed (clocks of
/// the builder and the signer differ; a day-old build is still caught).
const SERIAL_SLACK_SECS: u64 = 6 * 3600;

/// Who is creating and where things live.
pub struct ClientEnv {
    pub uid: u32,
    pub home: PathBuf,
    /// Keys shipped with lxu (`<prefix>/share/lxu/trusted-keys`), if any.
    pub shipped_keys_dir: Option<PathBuf>,
    /// The user's own trusted keys (`~/.config/lxc/trusted-keys`, root:
    /// `/etc/lxc/trusted-keys`).
    pub user_keys_dir: PathBuf,
    /// `system` or `user` index, metadata and config flavour.
    pub mode: Mode,
    /// The cache base (`LXC_CACHE_PATH`, `/var/cache/lxc` or `~/.cache/lxc`).
    pub cache_base: PathBuf,
    /// A PEM file to trust for HTTPS instead of the system store (else
    /// `SSL_CERT_FILE` or `/etc/ssl/certs`).
    pub ca_file: Option<PathBuf>,
    /// Pause between download attempts.
    pub retry_pause: Duration,
    pub progress: Progress,
}

impl ClientEnv {
    /// The usual environment for `uid` with home `home`; honours `LXC_CACHE_PATH`.
    pub fn new(
        uid: u32,
        home: &Path,
        shipped_keys_dir: Option<PathBuf>,
        mode: Mode,
        progress: Progress,
    ) -> ClientEnv {
        ClientEnv {
            uid,
            home: home.to_path_buf(),
            shipped_keys_dir,
            user_keys_dir: trust::user_key_dir(uid, home),
            mode,
            cache_base: cache::cache_base(uid, home, std::env::var_os("LXC_CACHE_PATH")),
            ca_file: None,
            retry_pause: Duration::from_millis(500),
            progress,
        }
    }

    fn fetcher(&self, server: &Server) -> Result<Fetcher, ImageError> {
        let roots = match &self.ca_file {
            Some(f) => crate::fetch::roots_from_file(f)?,
            // Plain HTTP needs no trust store.
            None if !server.is_https() => crate::fetch::system_roots().unwrap_or_default(),
            None => crate::fetch::system_roots()?,
        };
        let mut f = Fetcher::new(roots);
        f.set_retry_pause(self.retry_pause);
        Ok(f)
    }
}

/// A verified image in the cache, ready to unpack. Holds a shared lock on the cache
/// dir until dropped, so no other create replaces the files meanwhile.
#[derive(Debug)]
pub struct CachedImage {
    pub cache_dir: PathBuf,
    /// `<cache_dir>/rootfs.tar.xz`.
    pub rootfs_tarball: PathBuf,
    pub build_id: String,
    /// Whether this call downloaded the image (false: cache reused).
    pub downloaded: bool,
    pub meta: ImageMeta,
    _lock: CacheLock,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The trusted keys for one call: shipped, the user's, `--keyring`, narrowed by
/// `--keyid`.
pub fn load_keyring(opts: &DownloadOptions, env: &ClientEnv) -> Result<Keyring, ImageError> {
    let mut k = Keyring::new();
    if let Some(d) = &env.shipped_keys_dir {
        k.add_dir(d)?;
    }
    k.add_dir(&env.user_keys_dir)?;
    if let Some(f) = &opts.keyring {
        k.add_file(f)?;
    }
    k.ensure_not_empty()?;
    if let Some(id) = &opts.keyid {
        k.restrict_to(id)?;
    }
    Ok(k)
}

struct Session<'a> {
    opts: &'a DownloadOptions,
    env: &'a ClientEnv,
    keyring: Option<Keyring>,
    fetcher: Option<Fetcher>,
}

impl Session<'_> {
    fn start<'a>(opts: &'a DownloadOptions, env: &'a ClientEnv) -> Result<Session<'a>, ImageError> {
        if opts.keyserver.is_some() {
            env.progress.step(&format!(
                "Note: --keyserver is ignored; lxu never fetches keys and trusts the keys in `{}`{}",
                env.user_keys_dir.display(),
                env.shipped_keys_dir
                    .as_ref()
                    .map(|d| format!(" and `{}`", d.display()))
                    .unwrap_or_default()
            ));
        }
        let keyring = if opts.no_validate {
            env.progress.warn("Running without gpg validation!");
            None
        } else {
            Some(load_keyring(opts, env)?)
        };
        // Over plain HTTP only the signatures vouch for what arrives.
        if opts.no_validate && !opts.server.is_https() {
            env.progress.warn(&format!(
                "plain HTTP to `{}` without validation: anything on the path can change the image",
                opts.server
            ));
        }
        Ok(Session {
            opts,
            env,
            keyring,
            fetcher: None,
        })
    }

    fn fetcher(&mut self) -> Result<&Fetcher, ImageError> {
        if self.fetcher.is_none() {
            self.fetcher = Some(self.env.fetcher(&self.opts.server)?);
        }
        Ok(self.fetcher.as_ref().expect("set above"))
    }

    fn server(&self) -> &Server {
        &self.opts.server
    }

    /// A signature file, with a 404 reported as a missing signature.
    fn get_signature(&mut self, url: &str) -> Result<Vec<u8>, ImageError> {
        let sig_url = format!("{url}.asc");
        match self.fetcher()?.get_bytes(&sig_url, MAX_SIGNATURE) {
            Ok(b) => Ok(b),
            Err(e) if e.is_not_found() => Err(ImageError::MissingSignature { url: sig_url }),
            Err(e) => Err(e.into()),
        }
    }

    fn fetch_pair(&mut self, url: &str) -> Result<(Vec<u8>, Option<Vec<u8>>), ImageError> {
        let data = self.fetcher()?.get_bytes(url, MAX_INDEX)?;
        let sig = match self.keyring {
            Some(_) => Some(self.get_signature(url)?),
            None => None,
        };
        Ok((data, sig))
    }

    /// Downloads and verifies the index: the compat-specific one first, then
    /// (on any failure to download that pair) the unsuffixed one.
    fn index(&mut self) -> Result<Index, ImageError> {
        self.env.progress.step("Downloading the image index");
        let base = format!("/meta/1.0/index-{}", self.env.mode.as_str());
        let compat_url = self.server().url(&format!("{base}.{COMPAT_LEVEL}"));
        let (url, (data, sig)) = match self.fetch_pair(&compat_url) {
            Ok(pair) => (compat_url, pair),
            Err(_) => {
                let url = self.server().url(&base);
                let pair = self.fetch_pair(&url)?;
                (url, pair)
            }
        };
        if let (Some(k), Some(sig)) = (&self.keyring, &sig) {
            k.verify_reader(data.as_slice(), sig, &url)?;
        }
        index::parse_bytes(&data).map_err(|source| ImageError::BadIndex { url, source })
    }

    /// Fetches and verifies what binds the files of `entry` to it (see
    /// [`crate::manifest`]), keeping it in `staging` for the cache.
    fn binding(&mut self, entry: &IndexEntry, staging: &Path) -> Result<Binding, ImageError> {
        if self.keyring.is_none() {
            return Ok(Binding::Unvalidated);
        }
        let url = self
            .server()
            .url(&format!("{}/{}", entry.path, manifest::SUMS));
        let sums_bytes = match self.fetcher()?.get_bytes(&url, manifest::MAX_SUMS) {
            Ok(b) => b,
            Err(e) if e.is_not_found() => return Ok(Binding::PerFile { sums_url: url }),
            Err(e) => return Err(e.into()),
        };
        // Once a build offers SHA256SUMS, it must be signed: no falling back.
        let sig = self.get_signature(&url)?;
        let keyring = self.keyring.as_ref().expect("checked above");
        let verified = keyring.verify_reader(sums_bytes.as_slice(), &sig, &url)?;
        let bad = |source| ImageError::BadManifest {
            url: url.clone(),
            source,
        };
        let sums = Sums::parse(&sums_bytes).map_err(bad)?;
        for name in [cache::ROOTFS, cache::META] {
            sums.get(name).map_err(bad)?;
        }
        write_staged(staging, manifest::SUMS, &sums_bytes)?;
        write_staged(staging, manifest::SUMS_ASC, &sig)?;

        let info = match sums.get(manifest::INFO) {
            Ok(want) => {
                let want = want.to_string();
                let info_url = self
                    .server()
                    .url(&format!("{}/{}", entry.path, manifest::INFO));
                let data = self.fetcher()?.get_bytes(&info_url, manifest::MAX_INFO)?;
                let got = manifest::sha256_hex(&data);
                if got != want {
                    return Err(ImageError::HashMismatch {
                        url: info_url,
                        sums: url,
                        expected: want,
                        got,
                        size: data.len() as u64,
                    });
                }
                let info = BuildInfo::parse(&data).map_err(|source| ImageError::BadManifest {
                    url: info_url.clone(),
                    source,
                })?;
                if !info.matches(entry) {
                    return Err(ImageError::WrongBuild {
                        url: info_url,
                        wanted: format!(
                            "{} {} {} {} build {}",
                            entry.dist, entry.release, entry.arch, entry.variant, entry.build
                        ),
                        found: info.describe(),
                    });
                }
                write_staged(staging, manifest::INFO, &data)?;
                Some(info)
            }
            Err(_) => {
                // LXC's SHA256SUMS names no build. A signature older than the build serial
                // still betrays an older build's files served in this one's place.
                let signed = u64::from(verified.created);
                if let Some(built) = manifest::serial_time(&entry.build) {
                    if signed + SERIAL_SLACK_SECS < built {
                        return Err(ImageError::SignedBeforeBuild {
                            url,
                            signed: trust::fmt_utc(signed),
                            build: entry.build.clone(),
                        });
                    }
                }
                self.env.progress.warn(&format!(
                    "`{url}` lists no image.info naming its build: the files are bound to \
                     each other but not to build {}",
                    entry.build
                ));
                None
            }
        };
        Ok(Binding::Sums {
            sums,
            info,
            sums_url: url,
        })
    }

    /// Downloads one image file into the staging dir and checks it against `binding`.
    fn download_file(
        &mut self,
        entry: &IndexEntry,
        name: &str,
        staging: &Path,
        dir: &Path,
        binding: &Binding,
    ) -> Result<(), ImageError> {
        let url = self.server().url(&format!("{}/{}", entry.path, name));
        let dest = staging.join(name);
        let sig_dest = staging.join(format!("{name}.asc"));
        if let Binding::PerFile { .. } = binding {
            let sig = self.get_signature(&url)?;
            write_staged(staging, &format!("{name}.asc"), &sig)?;
        }
        let signed_size = match binding {
            Binding::Sums { info: Some(i), .. } => i.sizes.get(name).copied(),
            _ => None,
        };
        let (limit, why) = match signed_size {
            Some(n) => (n, " by the signed image.info".to_string()),
            None => (
                manifest::default_cap(name),
                format!(" (the cap for {name})"),
            ),
        };
        let bar = self.env.progress.bar(None, name);
        let target = Target {
            url: &url,
            dest: &dest,
            limit,
            why: &why,
        };
        let got = match self.fetcher()?.download(&target, &bar) {
            Ok(g) => g,
            Err(e) => {
                // What arrived is not a prefix of anything we want; or it could not be
                // written (a full disk): resuming it later is not worth holding the space
                // the user needs back now.
                if matches!(e, FetchError::TooLarge { .. } | FetchError::Write { .. }) {
                    let _ = cache::discard_staging(dir);
                }
                return Err(e.into());
            }
        };
        bar.finish();
        let checked = match binding {
            Binding::Sums { sums, sums_url, .. } => {
                let want = sums.get(name).map_err(|source| ImageError::BadManifest {
                    url: sums_url.clone(),
                    source,
                })?;
                if let Some(n) = signed_size.filter(|n| *n != got.size) {
                    Err(ImageError::SizeMismatch {
                        url,
                        expected: n,
                        got: got.size,
                    })
                } else if got.sha256 != want {
                    Err(ImageError::HashMismatch {
                        url,
                        sums: sums_url.clone(),
                        expected: want.to_string(),
                        got: got.sha256,
                        size: got.size,
                    })
                } else {
                    Ok(())
                }
            }
            Binding::PerFile { .. } => {
                let k = self.keyring.as_ref().expect("per-file binding needs keys");
                k.verify_file(&dest, &sig_dest, &url)
                    .map(|_| ())
                    .map_err(ImageError::from)
            }
            Binding::Unvalidated => Ok(()),
        };
        if checked.is_err() {
            // A bad file must not be resumed next time.
            cache::discard_staging(dir)?;
        }
        checked
    }

    /// Verifies what vouches for a cache dir: its signed `SHA256SUMS` when it has
    /// one, else the per-file signatures.
    fn cache_verifies(&self, dir: &Path) -> Result<(), Unverified> {
        let Some(k) = &self.keyring else {
            return Ok(());
        };
        let sums_path = dir.join(manifest::SUMS);
        if sums_path.is_file() {
            let read = |name: &'static str| {
                std::fs::read(dir.join(name)).map_err(|source| Unverified::Read { name, source })
            };
            let bad = |name| move |source| Unverified::Manifest { name, source };
            let sums_bytes = read(manifest::SUMS)?;
            let sig = read(manifest::SUMS_ASC)?;
            k.verify_reader(
                sums_bytes.as_slice(),
                &sig,
                &sums_path.display().to_string(),
            )?;
            let sums = Sums::parse(&sums_bytes).map_err(bad(manifest::SUMS))?;
            for name in [cache::ROOTFS, cache::META] {
                let want = sums.get(name).map_err(bad(manifest::SUMS))?;
                let got = manifest::sha256_file(&dir.join(name))
                    .map_err(|source| Unverified::Read { name, source })?;
                if got != want {
                    return Err(Unverified::Mismatch { name });
                }
            }
            if let Ok(want) = sums.get(manifest::INFO) {
                let data = read(manifest::INFO)?;
                if manifest::sha256_hex(&data) != want {
                    return Err(Unverified::Mismatch {
                        name: manifest::INFO,
                    });
                }
                let info = BuildInfo::parse(&data).map_err(bad(manifest::INFO))?;
                if cache::cached_build(dir).as_deref() != Some(info.serial.as_str()) {
                    return Err(Unverified::WrongBuild {
                        serial: info.serial,
                    });
                }
            }
            return Ok(());
        }
        for name in [cache::ROOTFS, cache::META] {
            let data = dir.join(name);
            let sig = dir.join(format!("{name}.asc"));
            if !sig.exists() || !data.exists() {
                return Err(Unverified::Unsigned { name });
            }
            k.verify_file(&data, &sig, &data.display().to_string())?;
        }
        Ok(())
    }
}

/// Why a cached image cannot be verified again (it is then downloaded anew).
#[derive(Debug, thiserror::Error)]
enum Unverified {
    #[error("cannot read {name}")]
    Read {
        name: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Signature(#[from] TrustError),
    #[error("bad {name}")]
    Manifest {
        name: &'static str,
        #[source]
        source: ManifestError,
    },
    #[error("{name} does not match its SHA256SUMS")]
    Mismatch { name: &'static str },
    #[error("its build_id is not build {serial}")]
    WrongBuild { serial: String },
    #[error("it has no signature for {name}")]
    Unsigned { name: &'static str },
}

/// What vouches for the files of the build being downloaded.
enum Binding {
    /// The build's signed `SHA256SUMS`, and its `image.info` when listed.
    Sums {
        sums: Sums,
        info: Option<BuildInfo>,
        sums_url: String,
    },
    /// No `SHA256SUMS` (`sums_url` gave 404): each file against its own signature.
    PerFile { sums_url: String },
    /// `--no-validate`.
    Unvalidated,
}

impl Binding {
    /// Staged files to keep in the cache beside the image.
    fn kept(&self) -> Vec<&'static str> {
        match self {
            Binding::Sums { info, .. } => {
                let mut v = vec![manifest::SUMS, manifest::SUMS_ASC];
                if info.is_some() {
                    v.push(manifest::INFO);
                }
                v
            }
            Binding::PerFile { .. } => vec!["rootfs.tar.xz.asc", "meta.tar.xz.asc"],
            Binding::Unvalidated => Vec::new(),
        }
    }
}

fn write_staged(staging: &Path, name: &str, data: &[u8]) -> Result<(), ImageError> {
    let path = staging.join(name);
    std::fs::write(&path, data).map_err(|source| {
        ImageError::from(cache::CacheError::Io {
            op: "write",
            path,
            source,
        })
    })
}

/// Finds, downloads (when needed), verifies and caches the image the options
/// ask for.
pub fn prepare(opts: &DownloadOptions, env: &ClientEnv) -> Result<CachedImage, ImageError> {
    let (dist, release, arch, variant) =
        opts.selector().ok_or_else(|| ImageError::MissingSelector {
            what: match (&opts.dist, &opts.release) {
                (None, None) => "-d/--dist and -r/--release",
                (None, _) => "-d/--dist",
                _ => "-r/--release",
            }
            .into(),
        })?;
    let mut s = Session::start(opts, env)?;
    let progress = &env.progress;
    let dir = cache::cache_dir(&env.cache_base, dist, release, arch, variant);
    let lock = CacheLock::exclusive(&dir, progress)?;
    cache::discard_stale_new(&dir)?;

    // Unlike LXC the old copy is not deleted up front: it is replaced atomically by
    // the new download, so a failed download leaves it as it was.
    if opts.flush_cache && dir.exists() {
        progress.step("Flushing the cache...");
    }
    let cached = if opts.flush_cache {
        None
    } else {
        cache::cached_build(&dir)
    };
    // None: not checked yet.
    let mut cache_ok: Option<bool> = None;
    let mut use_cache = false;
    if cached.is_some() {
        use_cache = opts.force_cache;
        if !use_cache {
            match meta::read_expiry(&dir, env.mode, COMPAT_LEVEL)? {
                Some(exp) if exp < now() => {
                    progress.step("The cached copy has expired, re-downloading...")
                }
                _ => use_cache = true,
            }
        }
        if use_cache {
            if let Err(why) = s.cache_verifies(&dir) {
                progress.step(&format!(
                    "The cached copy cannot be verified ({}), re-downloading...",
                    crate::error::chain(&why)
                ));
                use_cache = false;
                cache_ok = Some(false);
            } else {
                cache_ok = Some(true);
            }
        }
    }

    let mut downloaded = false;
    let build_id;
    if use_cache {
        progress.step("Using image from local cache");
        build_id = cached.clone().unwrap_or_default();
    } else {
        let idx = s.index()?;
        lxu_sys::crash::point("download.index-fetched");
        let entry = idx
            .select(dist, release, arch, variant)
            .cloned()
            .ok_or_else(|| ImageError::NoMatchingImage {
                wanted: format!("{dist} {release} {arch} {variant}"),
                server: opts.server.to_string(),
                available: idx.alternatives(dist, release, arch, variant),
            })?;
        let same = cached.as_deref() == Some(entry.build.as_str());
        let cache_good = same && *cache_ok.get_or_insert_with(|| s.cache_verifies(&dir).is_ok());
        if cache_good {
            progress.step("The cache is already up to date");
            progress.step("Using image from local cache");
        } else {
            let image = format!("{dist} {release} {arch} {variant}");
            // Checked against what is on disk even with --flush-cache: flushing asks for
            // a fresh copy, not for an older build.
            let prior = cache::cached_build(&dir);
            if let Some(old) = prior.as_deref().filter(|old| entry.build.as_str() < *old) {
                if !opts.allow_downgrade {
                    return Err(ImageError::Rollback {
                        image,
                        index_build: entry.build.clone(),
                        cached_build: old.to_string(),
                    });
                }
                progress.warn(&format!(
                    "--allow-downgrade: installing build {} over the newer cached build {old}",
                    entry.build
                ));
            }
            let staging = cache::open_staging(&dir, &entry.build)?;
            let binding = s.binding(&entry, &staging)?;
            if let Binding::PerFile { sums_url } = &binding {
                let was_bound = dir.join(manifest::SUMS).is_file();
                match prior.as_deref() {
                    Some(old) if was_bound && !opts.allow_downgrade => {
                        return Err(ImageError::LostBinding {
                            image,
                            url: sums_url.clone(),
                            cached_build: old.to_string(),
                        })
                    }
                    _ => progress.warn(&format!(
                        "`{sums_url}` not found: this repository publishes no signed \
                         SHA256SUMS, so each file is checked against its own signature only \
                         and is NOT bound to build {} (another build signed by the same key \
                         could be served in its place)",
                        entry.build
                    )),
                }
            }
            progress.step("Downloading the rootfs");
            s.download_file(&entry, cache::ROOTFS, &staging, &dir, &binding)?;
            progress.step("Downloading the metadata");
            s.download_file(&entry, cache::META, &staging, &dir, &binding)?;
            lxu_sys::crash::point("download.verified");
            cache::install(&dir, &staging, &entry.build, &binding.kept())?;
            progress.step("The image cache is now ready");
            downloaded = true;
        }
        build_id = entry.build;
    }
    lock.downgrade()?;
    let meta = meta::read(&dir, env.mode, COMPAT_LEVEL)?;
    Ok(CachedImage {
        rootfs_tarball: dir.join(cache::ROOTFS),
        cache_dir: dir,
        build_id,
        downloaded,
        meta,
        _lock: lock,
    })
}

/// `--list`: the table LXC prints after "Downloading the image index", starting with
/// its blank line. LXC then exits 1; the caller decides.
pub fn list(opts: &DownloadOptions, env: &ClientEnv) -> Result<String, ImageError> {
    let mut s = Session::start(opts, env)?;
    let idx = s.index()?;
    let filter = ListFilter {
        dist: opts.dist.as_deref(),
        release: opts.release.as_deref(),
        arch: opts.arch_given.then_some(opts.arch.as_str()),
        variant: Some(opts.variant.as_str()),
    };
    Ok(format!("\n{}", idx.listing(&filter)))
}

/// The messages LXC prints after a create: a blank line, `---` and the image's
/// create-message, if it has one.
///
/// The text is the server's and goes to the user's terminal: control characters other
/// than newline and tab are shown escaped (`\u{1b}`), so that escape sequences in it
/// cannot act there (rewrite the screen, set the title, write the clipboard).
pub fn create_message_text(meta: &ImageMeta) -> Option<String> {
    meta.create_message.as_ref().map(|m| {
        let mut shown = String::with_capacity(m.len());
        for c in m.chars() {
            if c.is_control() && c != '\n' && c != '\t' {
                shown.extend(c.escape_unicode());
            } else {
                shown.push(c);
            }
        }
        format!("\n---\n{shown}")
    })
}

/// "Unpacking the rootfs" and the unpack itself, with the image's excludes. Runs in
/// the container's user-namespace child.
pub fn unpack_image(
    image: &CachedImage,
    rootfs: &Path,
    progress: &Progress,
) -> Result<crate::unpack::UnpackStats, ImageError> {
    progress.step("Unpacking the rootfs");
    let opts = crate::unpack::UnpackOptions::new(image.meta.excludes.clone());
    let bar = progress.bar(None, "rootfs");
    let stats = crate::unpack::unpack_file(&image.rootfs_tarball, rootfs, &opts, Some(&bar))
        .map_err(|source| ImageError::UnpackInto {
            rootfs: rootfs.to_path_buf(),
            source,
        })?;
    bar.finish();
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hostile server's create-message with terminal escape sequences (clear the
    /// screen, OSC 52 clipboard write) reaches the user's terminal inert.
    #[test]
    fn the_create_message_carries_no_escape_sequences() {
        let meta = ImageMeta {
            create_message: Some("hi\x1b[2J\x1b]52;c;ZWNobw==\x07\r\nline\ttab\n".into()),
            ..Default::default()
        };
        let t = create_message_text(&meta).unwrap();
        assert!(
            !t.chars().any(|c| c.is_control() && c != '\n' && c != '\t'),
            "{t:?}"
        );
        assert_eq!(
            t,
            "\n---\nhi\\u{1b}[2J\\u{1b}]52;c;ZWNobw==\\u{7}\\u{d}\nline\ttab\n"
        );
    }
}
