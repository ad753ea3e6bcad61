//! Client side of LXC's "download" image protocol (`lxc-create -t download`):
//! options, the image index, OpenPGP verification, HTTP(S) transfers, the image
//! cache, metadata, safe unpacking, config assembly and template substitution.
//!
//! Entry points: [`DownloadOptions::parse`], [`prepare`], [`list`],
//! [`unpack::unpack_file`] (in the container's user namespace),
//! [`assemble_config`] and [`substitute_templates`].

pub mod assemble;
pub mod cache;
pub mod client;
mod error;
pub mod fetch;
pub mod index;
pub mod manifest;
pub mod meta;
pub mod options;
pub mod progress;
pub mod templates;
pub mod trust;
pub mod unpack;

pub use assemble::{assemble_config, KeyStyle};
pub use client::{
    create_message_text, list, load_keyring, prepare, unpack_image, CachedImage, ClientEnv,
};
pub use error::ImageError;
pub use meta::{ImageMeta, Mode};
pub use options::DownloadOptions;
pub use progress::Progress;
pub use templates::{substitute_templates, TemplateVars};
pub use unpack::{UnpackOptions, UnpackStats};
