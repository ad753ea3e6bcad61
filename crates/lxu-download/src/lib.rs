//! Client side of LXC's "download" image protocol (`lxc-create -t download`):
//! options, the image index, OpenPGP verification, HTTP(S) transfers, the image
//! cache, metadata, safe unpacking, config assembly and template substitution.
//!
//! Entry points: [`DownloadOptions::parse`], [`prepare`], [`list`],
//! [`unpack::unpack_file`] (in the container's user namespace),
//! [`assemble_config`] and [`substitute_templates`].

mod assemble;
pub mod cache;
mod client;
mod error;
mod fetch;
#[doc(hidden)]
pub mod fuzz;
pub mod index;
mod manifest;
mod meta;
pub mod options;
mod templates;
pub mod trust;
pub mod unpack;

pub use assemble::{assemble_config, KeyStyle};
pub use cache::CacheError;
pub use client::{create_message_text, list, prepare, unpack_image, CachedImage, ClientEnv};
pub use error::ImageError;
pub use fetch::{FetchError, GaveUp};
pub use index::IndexError;
pub use lxu_progress::{Bar, Captured, Progress};
pub use manifest::ManifestError;
pub use meta::{ImageMeta, MetaError, Mode};
pub use options::{DownloadOptions, OptionsError};
pub use templates::{substitute_templates, TemplateError, TemplateVars};
pub use unpack::{UnpackError, UnpackOptions, UnpackStats};
