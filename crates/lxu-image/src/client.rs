//! One `lxc-create -t download`: index → select → cache check → download and
//! verify → cache (section 6 of image-server.md), and `--list`.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::cache::{self, CacheLock};
use crate::fetch::{Fetcher, COMPAT_LEVEL};
use crate::index::{self, Index, IndexEntry, ListFilter};
use crate::meta::{self, ImageMeta, Mode};
use crate::options::{DownloadOptions, Server};
use crate::progress::Progress;
use crate::trust::{self, Keyring};
use crate::ImageError;

const MAX_INDEX: u64 = 16 * 1024 * 1024;
const MAX_SIGNATURE: u64 = 64 * 1024;

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

    /// Downloads one image file into the staging dir and verifies it.
    fn download_file(
        &mut self,
        entry: &IndexEntry,
        name: &str,
        staging: &Path,
        dir: &Path,
    ) -> Result<(), ImageError> {
        let url = self.server().url(&format!("{}/{}", entry.path, name));
        let dest = staging.join(name);
        let sig_dest = staging.join(format!("{name}.asc"));
        if self.keyring.is_some() {
            let sig = self.get_signature(&url)?;
            std::fs::write(&sig_dest, &sig).map_err(|source| cache::CacheError::Io {
                op: "write",
                path: sig_dest.clone(),
                source,
            })?;
        }
        let bar = self.env.progress.bar(None, name);
        self.fetcher()?.download(&url, &dest, &bar)?;
        bar.finish();
        if let Some(k) = &self.keyring {
            if let Err(e) = k.verify_file(&dest, &sig_dest, &url) {
                // A bad file must not be resumed next time.
                cache::discard_staging(dir)?;
                return Err(e.into());
            }
        }
        Ok(())
    }

    /// Verifies the signatures kept in a cache dir.
    fn cache_verifies(&self, dir: &Path) -> Result<(), String> {
        let Some(k) = &self.keyring else {
            return Ok(());
        };
        for name in [cache::ROOTFS, cache::META] {
            let data = dir.join(name);
            let sig = dir.join(format!("{name}.asc"));
            if !sig.exists() || !data.exists() {
                return Err(format!("it has no signature for {name}"));
            }
            k.verify_file(&data, &sig, &data.display().to_string())
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
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
                    "The cached copy cannot be verified ({why}), re-downloading..."
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
            if let Some(old) = cached.as_deref().filter(|old| entry.build.as_str() < *old) {
                if opts.no_validate {
                    progress.warn(&format!(
                        "the index offers build {} older than the cached build {old}",
                        entry.build
                    ));
                } else {
                    return Err(ImageError::Rollback {
                        image: format!("{dist} {release} {arch} {variant}"),
                        index_build: entry.build.clone(),
                        cached_build: old.to_string(),
                    });
                }
            }
            let staging = cache::open_staging(&dir, &entry.build)?;
            progress.step("Downloading the rootfs");
            s.download_file(&entry, cache::ROOTFS, &staging, &dir)?;
            progress.step("Downloading the metadata");
            s.download_file(&entry, cache::META, &staging, &dir)?;
            cache::install(&dir, &staging, &entry.build, s.keyring.is_some())?;
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
pub fn create_message_text(meta: &ImageMeta) -> Option<String> {
    meta.create_message.as_ref().map(|m| format!("\n---\n{m}"))
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
    let stats = crate::unpack::unpack_file(&image.rootfs_tarball, rootfs, &opts, Some(&bar))?;
    bar.finish();
    Ok(stats)
}
