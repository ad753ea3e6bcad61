//! `lxu create`: a container directory with its config and rootfs, built by a template.
//!
//! Either everything is created or nothing is left: the directory is made atomically
//! (a concurrent create of the same name fails), a `partial` marker exists while work is
//! in progress, and any failure removes what was made, from inside the user namespace
//! when the files belong to the container's ids.

use std::os::unix::fs::DirBuilderExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use lxu_config::{Config, ConfigFile, IdMap};

use crate::container::Container;
use crate::context::Context;
use crate::error::{Chain, ContainerError, Ended, Error, Result};
use crate::ids::idmap;
use crate::ids::userns::{self, Outcome};
use crate::start::try_lock;
use crate::storage::busybox::Busybox;
use crate::storage::destroy;

#[derive(Debug, Default, Clone)]
pub struct CreateOptions {
    /// `-t`: `busybox` (built in), `download` (the image client), a name looked up as
    /// `lxc-NAME` in the template directories, or a path to an LXC template script.
    pub template: Option<String>,
    /// Arguments after `--`, passed to the template.
    pub args: Vec<String>,
    /// `-f FILE`: extra config lines for the new container.
    pub extra_config: Option<PathBuf>,
}

/// Where LXC template scripts are looked up.
pub(crate) fn template_dirs(ctx: &Context) -> Vec<PathBuf> {
    vec![
        ctx.share_dir.join("templates"),
        PathBuf::from("/usr/share/lxc/templates"),
        PathBuf::from("/usr/local/share/lxc/templates"),
    ]
}

enum Template {
    None,
    Busybox(Busybox),
    Script(PathBuf),
    /// Handled by the image client; `create` only prepares and finishes.
    External(String),
}

fn resolve_template(ctx: &Context, t: Option<&str>) -> Result<Template> {
    let Some(t) = t else {
        return Ok(Template::None);
    };
    if t == "busybox" {
        return Ok(Template::Busybox(Busybox::probe()?));
    }
    if t == "download" {
        return Ok(Template::External(t.to_string()));
    }
    if t.contains('/') {
        let p = PathBuf::from(t);
        return if p.is_file() {
            Ok(Template::Script(p))
        } else {
            Err(Error::TemplateNotFound {
                template: t.to_string(),
            })
        };
    }
    let name = t.strip_prefix("lxc-").unwrap_or(t);
    for d in template_dirs(ctx) {
        let p = d.join(format!("lxc-{name}"));
        if p.is_file() {
            return Ok(Template::Script(p));
        }
    }
    Err(Error::TemplateNotInDirs {
        template: t.to_string(),
        file: format!("lxc-{name}"),
        dirs: template_dirs(ctx),
    })
}

/// The container's config before the template adds to it: a header, default.conf with
/// hwaddr templates made concrete, the `-f` file, and the rootfs.
fn initial_config(ctx: &Context, c: &Container, opts: &CreateOptions) -> Result<String> {
    let mut out = String::new();
    let mut rng = crate::random::Rng::new();
    for path in [
        Some(ctx.system.default_config.clone()),
        opts.extra_config.clone(),
    ]
    .into_iter()
    .flatten()
    {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    && opts.extra_config.as_ref() != Some(&path) =>
            {
                continue
            }
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        let mut f = ConfigFile::parse_str(&text, &path)?;
        f.randomize_hwaddrs(&mut || rng.byte());
        // Validate now, so a broken default.conf fails before anything is built.
        Config::from_file(&f)?;
        let rendered = f.render();
        out.push_str(&rendered);
        if !rendered.is_empty() && !rendered.ends_with('\n') {
            out.push('\n');
        }
    }
    out.push_str(&format!(
        "lxc.rootfs.path = dir:{}\n",
        c.dir.join("rootfs").display()
    ));
    Ok(out)
}

/// The comment lxc-create puts at the top of a new config, once the template is done.
fn header(opts: &CreateOptions) -> String {
    format!(
        "# Template used to create this container: {}\n# Parameters passed to the template: {}\n# For additional config options, please look at lxc.container.conf(5)\n\n",
        opts.template.as_deref().unwrap_or("none"),
        opts.args.join(" ")
    )
}

/// What `create` needs from the image client for `-t download`.
pub trait ExternalTemplate {
    /// Runs before the container directory exists (download, verification, cache): may
    /// fail without leaving anything behind.
    fn prepare(
        &mut self,
        ctx: &Context,
        c: &Container,
        args: &[String],
        unprivileged: bool,
    ) -> Result<()>;
    /// Runs as root of the container's user namespace (or as real root for a privileged
    /// container): fills `rootfs`.
    fn populate(&mut self, rootfs: &Path) -> std::result::Result<(), String>;
    /// Rewrites the config text (runs as the caller).
    fn finish_config(&mut self, ctx: &Context, c: &Container, config: &str) -> Result<String>;
    /// Runs as root of the user namespace after the config is final (template files).
    fn finish_rootfs(&mut self, rootfs: &Path) -> std::result::Result<(), String>;
    /// Printed after creation.
    fn message(&self) -> Option<String>;
}

pub fn create(
    ctx: &Context,
    c: &Container,
    opts: &CreateOptions,
    external: Option<&mut dyn ExternalTemplate>,
) -> Result<Option<String>> {
    let template = resolve_template(ctx, opts.template.as_deref())?;
    if c.exists() {
        return Err(Error::Exists {
            name: c.name.clone(),
            lxcpath: c.lxcpath.clone(),
        });
    }
    clear_failed_create(ctx, c)?;
    let config_text = initial_config(ctx, c, opts)?;
    let maps = parse_maps(&config_text, &c.config_path())?;
    let external = match (&template, external) {
        (Template::External(t), None) => {
            return Err(Error::TemplateUnavailable {
                template: t.clone(),
            })
        }
        (Template::External(_), Some(e)) => {
            e.prepare(ctx, c, &opts.args, !maps.is_empty())?;
            Some(e)
        }
        _ => None,
    };
    if !ctx.is_root() {
        if maps.is_empty() {
            let problem = ContainerError::NoIdmapToCreate {
                default_conf: ctx.system.default_config.clone(),
                user: ctx.user.name.clone(),
            };
            return Err(Error::container(&c.name, problem));
        }
        idmap::check_allowed(&maps, &ctx.user, ctx.euid)?;
    }
    let lock = crate::storage::layout::make_dir(ctx, c, &maps)?;
    lxu_sys::crash::point("create.dir-made");
    let new = New {
        ctx,
        c,
        opts,
        maps: &maps,
        config_text: &config_text,
    };
    let result = new.fill(template, external);
    if result.is_err() {
        let _ = destroy::remove_dir(ctx, c, &maps);
    }
    drop(lock);
    // Named: a helper killed in the user namespace says no more than its signal.
    result.map_err(|e| Error::Create {
        name: c.name.clone(),
        source: Box::new(e),
    })
}

pub(crate) fn write_config(c: &Container, text: &str) -> Result<()> {
    let how = lxu_sys::fs::Replace::mode(0o640);
    lxu_sys::fs::replace_file(&c.config_path(), text.as_bytes(), &how)
        .map_err(|e| Error::io(e.op, e.path, e.source))
}

/// A container being created, its directory made.
struct New<'a> {
    ctx: &'a Context,
    c: &'a Container,
    opts: &'a CreateOptions,
    /// The container's id maps.
    maps: &'a [IdMap],
    /// Its config before the template ran.
    config_text: &'a str,
}

impl New<'_> {
    /// Writes the config and has the template fill the rootfs, marked `partial` until
    /// done. Returns the external template's message.
    fn fill(
        &self,
        template: Template,
        mut external: Option<&mut dyn ExternalTemplate>,
    ) -> Result<Option<String>> {
        let (ctx, c, maps) = (self.ctx, self.c, self.maps);
        write_config(c, self.config_text)?;
        lxu_sys::crash::point("create.config-written");
        let rootfs = c.dir.join("rootfs");
        let (ns_maps, _, _) = idmap::with_caller(maps, ctx.euid, ctx.egid);
        let mut message = None;
        match template {
            Template::None => {
                as_container_root(ctx, maps, &ns_maps, || mkdir_rootfs(&rootfs))?;
            }
            Template::Busybox(bb) => self.busybox(&bb, &ns_maps)?,
            Template::Script(script) => self.run_script(&script)?,
            Template::External(_) => {
                let ext = external.as_mut().expect("prepared above");
                as_container_root(ctx, maps, &ns_maps, || {
                    mkdir_rootfs(&rootfs)?;
                    ext.populate(&rootfs)
                        .map_err(|message| Error::Child { message })?;
                    lxu_sys::crash::point("create.rootfs-unpacked");
                    Ok(())
                })?;
                let text = ext.finish_config(ctx, c, self.config_text)?;
                write_config(c, &text)?;
                lxu_sys::crash::point("create.image-config-written");
                as_container_root(ctx, maps, &ns_maps, || {
                    ext.finish_rootfs(&rootfs)
                        .map_err(|message| Error::Child { message })
                })?;
                message = ext.message();
            }
        }
        let body = std::fs::read_to_string(c.config_path())
            .map_err(|e| Error::io("read", c.config_path(), e))?;
        write_config(c, &format!("{}{body}", header(self.opts)))?;
        // The result must load: a template that wrote a broken config fails the create.
        Config::load(&c.config_path())?;
        lxu_sys::crash::point("create.before-done");
        std::fs::remove_file(c.partial_path())
            .map_err(|e| Error::io("remove", c.partial_path(), e))?;
        Ok(message)
    }

    /// The built-in busybox template: its config lines, then the rootfs.
    fn busybox(&self, bb: &Busybox, ns_maps: &[IdMap]) -> Result<()> {
        let (ctx, c) = (self.ctx, self.c);
        let mut text = self.config_text.to_string();
        for (k, v) in bb.config_lines() {
            text.push_str(&format!("{k} = {v}\n"));
        }
        // The default seccomp profile, as images get it through common.conf.
        let profile = ctx.template_config_dir().join("common.seccomp");
        if profile.is_file() {
            text.push_str(&format!("lxc.seccomp.profile = {}\n", profile.display()));
        }
        text.push_str(&format!("lxc.uts.name = {}\n", c.name));
        write_config(c, &text)?;
        let ttys = Config::load(&c.config_path())?.tty_max;
        let rootfs = c.dir.join("rootfs");
        as_container_root(ctx, self.maps, ns_maps, || {
            bb.build(&rootfs, &c.name, ttys).map_err(Error::Busybox)?;
            // In the user-namespace child: kills only it, the parent must clean up.
            lxu_sys::crash::point("create.rootfs-built");
            Ok(())
        })
    }

    /// An LXC template script, run as LXC runs it: as root of the container's user
    /// namespace, told where the caller's own ids are mapped.
    fn run_script(&self, script: &Path) -> Result<()> {
        let (ctx, c, maps) = (self.ctx, self.c, self.maps);
        let (ns_maps, mapped_uid, mapped_gid) = idmap::with_caller(maps, ctx.euid, ctx.egid);
        let mut args = vec![
            format!("--path={}", c.dir.display()),
            format!("--name={}", c.name),
            format!("--rootfs={}", c.dir.join("rootfs").display()),
        ];
        args.extend(self.opts.args.iter().cloned());
        if !maps.is_empty() {
            args.extend([
                "--mapped-uid".to_string(),
                mapped_uid.to_string(),
                "--mapped-gid".to_string(),
                mapped_gid.to_string(),
            ]);
        }
        let what = || format!("run template `{}`", script.display());
        let outcome = if maps.is_empty() {
            let st = std::process::Command::new(script)
                .args(&args)
                .status()
                .map_err(|e| Error::sys(what(), e))?;
            Outcome::of(st)
        } else {
            userns::run_as_root(&ns_maps, ctx.euid, || {
                let err = std::process::Command::new(script).args(&args).exec();
                Err(Chain(&Error::sys(what(), err)).to_string())
            })?
        };
        let script = script.to_path_buf();
        let problem = match outcome {
            Outcome::Done => return Ok(()),
            Outcome::Ended(Ended::Exited(code)) => ContainerError::TemplateFailed { script, code },
            Outcome::Ended(Ended::Signaled(signal)) => {
                ContainerError::TemplateKilled { script, signal }
            }
        };
        Err(Error::container(&c.name, problem))
    }
}

fn mkdir_rootfs(rootfs: &Path) -> Result<()> {
    match std::fs::DirBuilder::new().mode(0o755).create(rootfs) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::io("create", rootfs, e)),
    }
}

/// Runs `work` as the container's root: in a user namespace for a container with an id
/// map (its error comes back as text), directly for a privileged container created by
/// root.
pub(crate) fn as_container_root<F>(
    ctx: &Context,
    maps: &[IdMap],
    ns_maps: &[IdMap],
    work: F,
) -> Result<()>
where
    F: FnOnce() -> Result<()>,
{
    if maps.is_empty() {
        return work();
    }
    let work = || work().map_err(|e| Chain(&e).to_string());
    match userns::run_as_root(ns_maps, ctx.euid, work)? {
        Outcome::Done => Ok(()),
        Outcome::Ended(ended) => Err(Error::HelperEnded { ended }),
    }
}

/// The id maps of a config text (includes expanded).
fn parse_maps(text: &str, origin: &Path) -> Result<Vec<IdMap>> {
    let f = ConfigFile::parse_str(text, origin)?;
    Ok(Config::from_file(&f)?.idmaps)
}

/// A directory left by a create, copy or destroy that died half-way (a `partial` marker
/// nobody holds a lock on) is removed so the name can be used again.
pub(crate) fn clear_failed_create(ctx: &Context, c: &Container) -> Result<()> {
    if !c.partial_path().exists() {
        return Ok(());
    }
    let Some(_lock) = try_lock(c)? else {
        return Err(Error::BeingCreated {
            name: c.name.clone(),
        });
    };
    let maps = std::fs::read_to_string(c.config_path())
        .ok()
        .and_then(|t| parse_maps(&t, &c.config_path()).ok())
        .unwrap_or_default();
    destroy::remove_dir(ctx, c, &maps)
}
