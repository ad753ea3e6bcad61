//! The five fields that name one published build, and their index line.

use std::fmt;
use std::path::PathBuf;

/// One build of one image: the first five fields of an index line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageId {
    pub dist: String,
    pub release: String,
    pub arch: String,
    pub variant: String,
    pub build: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ImageIdError {
    #[error("image field `{field}` is empty")]
    Empty { field: &'static str },
    #[error("image field `{field}` = `{value}` is not allowed: {why}")]
    Invalid {
        field: &'static str,
        value: String,
        why: &'static str,
    },
}

impl ImageId {
    pub fn new(
        dist: impl Into<String>,
        release: impl Into<String>,
        arch: impl Into<String>,
        variant: impl Into<String>,
        build: impl Into<String>,
    ) -> Self {
        ImageId {
            dist: dist.into(),
            release: release.into(),
            arch: arch.into(),
            variant: variant.into(),
            build: build.into(),
        }
    }

    /// Every field becomes a path component and an index field, so it must be a
    /// plain name: no `/`, no `;` (the index separator), no whitespace or control
    /// characters, and no leading `.` (hidden names are the publisher's own).
    pub(crate) fn validate(&self) -> Result<(), ImageIdError> {
        for (field, value) in self.fields() {
            validate_field(field, value)?;
        }
        Ok(())
    }

    fn fields(&self) -> [(&'static str, &str); 5] {
        [
            ("dist", &self.dist),
            ("release", &self.release),
            ("arch", &self.arch),
            ("variant", &self.variant),
            ("build", &self.build),
        ]
    }

    /// `images/<dist>/<release>/<arch>/<variant>`, relative to the repository.
    pub(crate) fn image_dir(&self) -> PathBuf {
        [
            "images",
            &self.dist,
            &self.release,
            &self.arch,
            &self.variant,
        ]
        .iter()
        .collect()
    }

    /// `images/<dist>/<release>/<arch>/<variant>/<build>`, relative to the repository.
    pub(crate) fn build_dir(&self) -> PathBuf {
        self.image_dir().join(&self.build)
    }

    /// Field 6 of the index: the build directory with leading and trailing `/`.
    pub(crate) fn url_path(&self) -> String {
        format!(
            "/images/{}/{}/{}/{}/{}/",
            self.dist, self.release, self.arch, self.variant, self.build
        )
    }

    /// The full index line, newline-terminated.
    pub fn index_line(&self) -> String {
        format!(
            "{};{};{};{};{};{}\n",
            self.dist,
            self.release,
            self.arch,
            self.variant,
            self.build,
            self.url_path()
        )
    }
}

impl fmt::Display for ImageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}/{}",
            self.dist, self.release, self.arch, self.variant, self.build
        )
    }
}

pub(crate) fn validate_field(field: &'static str, value: &str) -> Result<(), ImageIdError> {
    let invalid = |why| ImageIdError::Invalid {
        field,
        value: value.to_string(),
        why,
    };
    if value.is_empty() {
        return Err(ImageIdError::Empty { field });
    }
    if value.starts_with('.') {
        return Err(invalid("must not start with `.`"));
    }
    if value.contains('/') {
        return Err(invalid("must not contain `/`"));
    }
    if value.contains(';') {
        return Err(invalid("must not contain `;`, the index field separator"));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("must not contain whitespace or control characters"));
    }
    if value.contains('%') || value.contains('?') || value.contains('#') {
        // These would change meaning once pasted into a URL by the client.
        return Err(invalid("must not contain `%`, `?` or `#`"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(build: &str) -> ImageId {
        ImageId::new("debian", "bookworm", "amd64", "default", build)
    }

    #[test]
    fn index_line_matches_lxc_ci_format() {
        assert_eq!(
            id("20240101_05:24").index_line(),
            "debian;bookworm;amd64;default;20240101_05:24;/images/debian/bookworm/amd64/default/20240101_05:24/\n"
        );
        assert_eq!(
            id("b").build_dir(),
            PathBuf::from("images/debian/bookworm/amd64/default/b")
        );
    }

    #[test]
    fn rejects_unsafe_fields() {
        assert!(id("20240101_05:24").validate().is_ok());
        for bad in [
            "", "..", ".hidden", "a/b", "a;b", "a b", "a\nb", "a%2f", "a?b",
        ] {
            assert!(id(bad).validate().is_err(), "{bad:?} accepted");
        }
    }
}
