//! Server side of LXC's "download" image protocol.
//!
//! The pipeline is: [`build()`] an image from a [`Recipe`] into a directory
//! (`rootfs.tar.xz`, `meta.tar.xz`, optionally `rootfs.tar.zst`), [`publish()`]
//! it into a repository laid out like images.linuxcontainers.org (signed with a
//! [`SigningKey`]), and [`serve()`] that repository over HTTP and HTTPS.
//!
//! Repository layout (what `lxc-create -t download` expects):
//!
//! ```text
//! meta/1.0/index-system[.N][.asc]
//! meta/1.0/index-user[.N][.asc]
//! images/<dist>/<release>/<arch>/<variant>/<build>/
//!     rootfs.tar.xz(.asc) meta.tar.xz(.asc) [rootfs.tar.zst(.asc)]
//!     image.info(.asc) SHA256SUMS(.asc)
//! ```
//!
//! Names starting with `.` are private to the publisher (lock file, staging
//! directories, temporary index files) and are never served.

mod build;
mod compress;
mod error;
mod fsutil;
mod image_id;
mod info;
mod meta;
mod publish;
mod recipe;
mod serve;
mod sign;
mod tarball;
mod timefmt;

pub use build::{build, BuildError, BuildOptions, BuildStats, BuiltImage, XzOptions};
pub use error::{IoError, ServerError};
pub use image_id::{ImageId, ImageIdError};
pub use info::{ImageInfo, InfoError};
pub use lxu_progress::Progress;
pub use publish::{publish, reindex, scan, PublishError, PublishReport, PublishedBuild};
pub use recipe::{BusyboxRecipe, DebianRecipe, Recipe};
pub use serve::{
    generate_self_signed, serve, spawn, SelfSigned, SelfSignedFiles, ServeError, ServeOptions,
    ServerHandle,
};
pub use sign::{verify_detached, KeyAlgorithm, SignError, SigningKey};
pub use tarball::TarError;
