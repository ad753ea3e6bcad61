//! `lxu create -t download`: LXC's download template, run by lxu itself.
//!
//! Download and signature checks run as the caller (the cache is theirs); unpacking and
//! the template files run as root of the container's user namespace, so everything lands
//! owned by the container's ids.

use std::io::{BufRead, IsTerminal, Write};

use lxu_download::{
    assemble_config, create_message_text, list, prepare, unpack_image, CachedImage, ClientEnv,
    DownloadOptions, ImageError, KeyStyle, Mode, Progress, TemplateVars,
};
use lxu_runtime::create::ExternalTemplate;
use lxu_runtime::{Container, Context, Error, Result};

pub struct Download {
    image: Option<CachedImage>,
    vars: Option<TemplateVars>,
    /// `-q`: no step lines, no bars.
    quiet: bool,
}

impl Download {
    pub fn new(quiet: bool) -> Download {
        Download {
            image: None,
            vars: None,
            quiet,
        }
    }

    /// LXC's step lines (on stdout, or stderr when that is not a terminal) and bars on a
    /// terminal; nothing with `-q`.
    fn progress(&self) -> Progress {
        if self.quiet {
            Progress::quiet()
        } else {
            Progress::download()
        }
    }
}

fn err(e: ImageError) -> Error {
    Error::Template(Box::new(e))
}

/// The error and its causes joined with ": ", as the CLI prints them.
fn shown(e: impl std::error::Error + Send + Sync + 'static) -> String {
    format!("{:#}", anyhow::Error::new(e))
}

fn ask(prompt: &str) -> Option<String> {
    eprint!("{prompt}: ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).ok()?;
    let v = line.trim().to_string();
    (!v.is_empty()).then_some(v)
}

impl ExternalTemplate for Download {
    fn prepare(
        &mut self,
        ctx: &Context,
        c: &Container,
        args: &[String],
        unprivileged: bool,
    ) -> Result<()> {
        let mut opts = DownloadOptions::parse(args).map_err(err)?;
        if opts.help {
            println!("{}", lxu_download::options::usage());
            return Err(Error::NotCreated { reason: "--help" });
        }
        let progress = self.progress();
        let mode = if unprivileged {
            Mode::User
        } else {
            Mode::System
        };
        let keys = ctx.share_dir.join("trusted-keys");
        let env = ClientEnv::new(
            ctx.euid,
            &ctx.home,
            keys.is_dir().then_some(keys),
            mode,
            progress,
        );
        if opts.list {
            print!("{}", list(&opts, &env).map_err(err)?);
            // LXC's --list ends the create with a failure, leaving no container.
            return Err(Error::NotCreated { reason: "--list" });
        }
        if opts.selector().is_none() {
            if !std::io::stdin().is_terminal() {
                return Err(err(ImageError::MissingSelector {
                    what: "-d/--dist, -r/--release and -a/--arch".into(),
                }));
            }
            // Interactive, as LXC's template: show what exists and ask.
            print!("{}", list(&opts, &env).map_err(err)?);
            opts.dist = opts.dist.take().or_else(|| ask("Distribution"));
            opts.release = opts.release.take().or_else(|| ask("Release"));
            if let Some(a) = ask("Architecture") {
                opts.arch = a;
                opts.arch_given = true;
            }
        }
        let image = prepare(&opts, &env).map_err(err)?;
        self.vars = Some(TemplateVars {
            name: c.name.clone(),
            path: c.dir.display().to_string(),
            rootfs: c.dir.join("rootfs").display().to_string(),
            template_config: ctx.template_config_dir().display().to_string(),
            hook_dir: ctx.share_dir.join("hooks").display().to_string(),
        });
        self.image = Some(image);
        Ok(())
    }

    fn populate(&mut self, rootfs: &std::path::Path) -> std::result::Result<(), String> {
        let image = self.image.as_ref().ok_or("no image prepared")?;
        let progress = self.progress();
        let stats = unpack_image(image, rootfs, &progress).map_err(shown)?;
        if stats.skipped_devices > 0 || stats.skipped_excludes > 0 {
            progress.step(&format!(
                "Skipped {} device nodes and {} excluded entries (a user namespace cannot create them; /dev is provided at start)",
                stats.skipped_devices, stats.skipped_excludes
            ));
        }
        Ok(())
    }

    fn finish_config(&mut self, _ctx: &Context, _c: &Container, config: &str) -> Result<String> {
        let image = self.image.as_ref().ok_or(Error::NotCreated {
            reason: "no image prepared",
        })?;
        let vars = self.vars.as_ref().ok_or(Error::NotCreated {
            reason: "no image prepared",
        })?;
        let fstab = match &image.meta.fstab {
            Some(p) => Some(
                std::fs::read_to_string(p)
                    .map_err(|e| Error::io("read the image's fstab", p, e))?,
            ),
            None => None,
        };
        Ok(assemble_config(
            config,
            &image.meta.config,
            vars,
            KeyStyle::Modern,
            fstab.as_deref(),
        ))
    }

    fn finish_rootfs(&mut self, rootfs: &std::path::Path) -> std::result::Result<(), String> {
        let image = self.image.as_ref().ok_or("no image prepared")?;
        let vars = self.vars.as_ref().ok_or("no image prepared")?;
        lxu_download::substitute_templates(rootfs, &image.meta.templates, vars).map_err(shown)?;
        Ok(())
    }

    fn message(&self) -> Option<String> {
        self.image
            .as_ref()
            .and_then(|i| create_message_text(&i.meta))
    }
}
