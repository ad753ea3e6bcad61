//! `lxu-image` (also `lxu image …`): build images, sign and publish them into a
//! repository laid out like LXC's image server, and serve it. A separate binary so that
//! the HTTP server and its async runtime stay out of `lxu`, which starts containers.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use lxu_image_server::{
    build, generate_self_signed, publish, scan, serve, BuildOptions, BuiltImage, BusyboxRecipe,
    DebianRecipe, KeyAlgorithm, Progress, Recipe, ServeOptions, SigningKey,
};

#[derive(Parser, Debug)]
#[command(
    name = "lxu image",
    version,
    about = "Build, sign, publish and serve container images"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Make a repository signing key (OpenPGP; gpg can read it)
    Keygen {
        /// Directory for key.asc (secret, 0600) and key.pub.asc
        #[arg(long)]
        out: PathBuf,
        /// User id of the key
        #[arg(long, default_value = "lxu image repository")]
        uid: String,
        /// RSA-4096 instead of Ed25519
        #[arg(long)]
        rsa: bool,
    },
    /// Build an image (rootfs.tar.xz and meta.tar.xz) from a recipe: busybox or debian
    Build {
        /// busybox (from the host's busybox-static, no network) or debian (debootstrap)
        recipe: String,
        /// Output directory
        #[arg(long)]
        out: PathBuf,
        /// Release: the Debian codename (default bookworm) or a busybox label
        #[arg(long)]
        release: Option<String>,
        /// Debian package mirror
        #[arg(long)]
        mirror: Option<String>,
        /// Extra Debian packages (comma separated), e.g. systemd-sysv for a bootable system
        #[arg(long)]
        include: Option<String>,
        /// Build serial (default: now, as YYYYMMDD_HH:MM UTC)
        #[arg(long)]
        serial: Option<String>,
        /// Also write rootfs.tar.zst at this zstd level (0: none)
        #[arg(long, default_value_t = 0)]
        zstd: i32,
    },
    /// Add a built image to a repository: signatures, SHA256SUMS, indexes, pruning
    Publish {
        /// The build directory (from `build`)
        build: PathBuf,
        /// Repository directory
        #[arg(long)]
        repo: PathBuf,
        /// Secret key file (from `keygen`, or `gpg --export-secret-keys --armor`)
        #[arg(long)]
        key: PathBuf,
        /// File holding the key's passphrase, if it has one
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
        /// Distribution name in the index (default: from the build)
        #[arg(long)]
        dist: Option<String>,
        #[arg(long)]
        release: Option<String>,
        #[arg(long)]
        arch: Option<String>,
        #[arg(long, default_value = "default")]
        variant: String,
        /// Builds to keep per image
        #[arg(long, default_value_t = 3)]
        keep: usize,
    },
    /// List what a repository holds
    List {
        #[arg(long)]
        repo: PathBuf,
    },
    /// Serve a repository over HTTP and/or HTTPS
    Serve {
        /// Repository directory
        #[arg(long)]
        repo: PathBuf,
        /// HTTP address, e.g. 127.0.0.1:8080
        #[arg(long)]
        http: Option<SocketAddr>,
        /// HTTPS address
        #[arg(long)]
        https: Option<SocketAddr>,
        #[arg(long)]
        cert: Option<PathBuf>,
        #[arg(long)]
        key: Option<PathBuf>,
        /// Make a self-signed CA and certificate in this directory (ca.pem is what clients
        /// trust, e.g. with SSL_CERT_FILE)
        #[arg(long)]
        self_signed: Option<PathBuf>,
    },
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("lxu image: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Keygen { out, uid, rsa } => keygen(&out, &uid, rsa),
        Cmd::Build {
            recipe,
            out,
            release,
            mirror,
            include,
            serial,
            zstd,
        } => {
            let recipe = recipe_named(&recipe, release, mirror, include)?;
            let opts = BuildOptions {
                serial,
                zstd_level: (zstd > 0).then_some(zstd),
                ..BuildOptions::default()
            };
            let built = build(&recipe, &out, &opts, &Progress::on_terminal())?;
            println!(
                "built {} in {}",
                built.image_id("default"),
                built.dir.display()
            );
            Ok(())
        }
        Cmd::Publish {
            build,
            repo,
            key,
            passphrase_file,
            dist,
            release,
            arch,
            variant,
            keep,
        } => {
            let built = BuiltImage::load(&build)?;
            let mut id = built.image_id(&variant);
            if let Some(d) = dist {
                id.dist = d;
            }
            if let Some(r) = release {
                id.release = r;
            }
            if let Some(a) = arch {
                id.arch = a;
            }
            let key = SigningKey::load(&key, passphrase_file.as_deref())?;
            let progress = Progress::on_terminal();
            let report = publish(&repo, &built, id.clone(), &key, keep, &progress)?;
            println!("published {id} in {}", report.build_dir.display());
            for p in &report.pruned {
                println!("pruned {}", p.display());
            }
            Ok(())
        }
        Cmd::List { repo } => {
            for b in scan(&repo)? {
                let flag = if b.current {
                    "*"
                } else if b.complete {
                    " "
                } else {
                    "?"
                };
                println!("{flag} {}", b.id);
            }
            Ok(())
        }
        Cmd::Serve {
            repo,
            http,
            https,
            cert,
            key,
            self_signed,
        } => serve_repo(repo, http, https, cert, key, self_signed),
    }
}

fn keygen(out: &Path, uid: &str, rsa: bool) -> Result<()> {
    let algo = if rsa {
        KeyAlgorithm::Rsa(4096)
    } else {
        KeyAlgorithm::Ed25519
    };
    let key = SigningKey::generate(uid, algo, None)?;
    std::fs::create_dir_all(out).with_context(|| format!("create `{}`", out.display()))?;
    let secret = out.join("key.asc");
    write_private(&secret, &key.secret_key_armored()?)?;
    let public = out.join("key.pub.asc");
    std::fs::write(&public, key.public_key_armored()?)
        .with_context(|| format!("write `{}`", public.display()))?;
    println!("key {} ({})", key.fingerprint(), uid);
    println!("secret: {}\npublic: {}", secret.display(), public.display());
    Ok(())
}

/// The recipe `name` with the options given for it.
fn recipe_named(
    name: &str,
    release: Option<String>,
    mirror: Option<String>,
    include: Option<String>,
) -> Result<Recipe> {
    Ok(match name {
        "busybox" => Recipe::Busybox(BusyboxRecipe {
            release,
            ..BusyboxRecipe::default()
        }),
        "debian" => {
            let mut r = DebianRecipe::default();
            if let Some(rel) = release {
                r.release = rel;
            }
            if let Some(m) = mirror {
                r.mirror = m;
            }
            if let Some(i) = include {
                r.include = i.split(',').map(str::to_string).collect();
            }
            Recipe::Debian(r)
        }
        other => bail!("unknown recipe `{other}` (busybox or debian)"),
    })
}

fn serve_repo(
    repo: PathBuf,
    http: Option<SocketAddr>,
    https: Option<SocketAddr>,
    mut cert: Option<PathBuf>,
    mut key: Option<PathBuf>,
    self_signed: Option<PathBuf>,
) -> Result<()> {
    if let Some(dir) = self_signed {
        let names = vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
        ];
        let files = generate_self_signed(&names)?.write(&dir)?;
        cert = Some(files.cert);
        key = Some(files.key);
        println!("CA for clients: {}", files.ca.display());
    }
    if http.is_none() && https.is_none() {
        bail!("give --http ADDR and/or --https ADDR");
    }
    let opts = ServeOptions {
        root: repo,
        http_addr: http,
        https_addr: https,
        tls_cert: cert,
        tls_key: key,
        threads: 0,
    };
    serve(opts, |addrs| {
        for a in addrs {
            println!("listening on {a}");
        }
    })?;
    Ok(())
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("create `{}`", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("write `{}`", path.display()))
}
