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
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("bad index `{url}`: {source}")]
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
         {cached_build}: refusing a rollback (--flush-cache or --no-validate accept it)"
    )]
    Rollback {
        image: String,
        index_build: String,
        cached_build: String,
    },
    #[error("no image selected: missing {what} (use --list to see what the server has)")]
    MissingSelector { what: String },
}
