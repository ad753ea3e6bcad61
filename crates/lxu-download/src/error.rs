//! The crate-level error: each module's error, plus what only the whole flow knows.

use crate::cache::CacheError;
use crate::fetch::FetchError;
use crate::index::IndexError;
use crate::meta::MetaError;
use crate::options::OptionsError;
use crate::templates::TemplateError;
use crate::trust::TrustError;
use crate::unpack::UnpackError;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error(transparent)]
    Options(#[from] OptionsError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Trust(#[from] TrustError),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Meta(#[from] MetaError),
    #[error(transparent)]
    Unpack(#[from] UnpackError),
    /// The unpack of a container's rootfs: the unpack errors name paths in the rootfs,
    /// this says which rootfs.
    #[error("unpack the image into `{}`", rootfs.display())]
    UnpackInto {
        rootfs: std::path::PathBuf,
        #[source]
        source: UnpackError,
    },
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("bad index `{url}`")]
    BadIndex {
        url: String,
        #[source]
        source: IndexError,
    },
    #[error("missing signature `{url}`")]
    MissingSignature { url: String },
    #[error("couldn't find a matching image for `{wanted}` on `{server}`; available {available}")]
    NoMatchingImage {
        wanted: String,
        server: String,
        available: String,
    },
    #[error(
        "the index offers build {index_build} of `{image}`, older than the cached build \
         {cached_build}: refusing a downgrade (a replayed old index looks like this; \
         --allow-downgrade accepts it)"
    )]
    Rollback {
        image: String,
        index_build: String,
        cached_build: String,
    },
    #[error("bad `{url}`")]
    BadManifest {
        url: String,
        #[source]
        source: crate::manifest::ManifestError,
    },
    #[error(
        "`{url}` names {found}, but the signed index chose {wanted}: refusing files of \
         another build"
    )]
    WrongBuild {
        url: String,
        wanted: String,
        found: String,
    },
    #[error(
        "`{url}` does not match the signed {sums}: expected SHA-256 {expected}, got {got} \
         ({size} bytes)"
    )]
    HashMismatch {
        url: String,
        sums: String,
        expected: String,
        got: String,
        size: u64,
    },
    #[error(
        "`{url}` was signed on {signed}, before build {build} was made: it belongs to an \
         older build"
    )]
    SignedBeforeBuild {
        url: String,
        signed: String,
        build: String,
    },
    #[error("`{url}` is {got} bytes, but the signed image.info says {expected}")]
    SizeMismatch {
        url: String,
        expected: u64,
        got: u64,
    },
    #[error(
        "`{image}` has no signed SHA256SUMS at `{url}`, but the cached build {cached_build} \
         was bound to one: refusing files not bound to their build (--allow-downgrade \
         accepts them)"
    )]
    LostBinding {
        image: String,
        url: String,
        cached_build: String,
    },
    #[error("no image selected: missing {what} (use --list to see what the server has)")]
    MissingSelector { what: String },
}

/// An error and its causes joined with ": ", as the CLI shows them: for the
/// messages this crate prints itself.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let causes = std::iter::successors(Some(e), |e| e.source());
    causes.map(|e| e.to_string()).collect::<Vec<_>>().join(": ")
}
