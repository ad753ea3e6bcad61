//! `lxu create` (`lxc-create`).

use anyhow::{bail, Result};
use lxu_runtime::create::{self, CreateOptions};

use crate::args::{strip_dashdash, CreateArgs};

pub fn run(a: CreateArgs) -> Result<i32> {
    // `lxc-create NAME -t T -- ARGS`: a first positional that is not `--` is the name.
    let (name, rest) = crate::args::name_and_rest(&a.common, &a.rest);
    if let Some(b) = a.bdev.as_deref() {
        if b != "dir" {
            bail!("backing store `{b}` is not supported (only `dir`)");
        }
    }
    let (ctx, c) = super::target(&a.common, name)?;
    let opts = CreateOptions {
        template: a.template.clone(),
        args: strip_dashdash(rest),
        extra_config: a.config.clone(),
    };
    let mut download = super::download::Download::new(a.common.quiet);
    let message = create::create(&ctx, &c, &opts, Some(&mut download))?;
    if let Some(m) = message.filter(|_| !a.common.quiet) {
        println!("{}", m.trim_end());
    }
    Ok(0)
}
