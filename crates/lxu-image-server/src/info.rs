//! `image.info`: a small `key=value` file kept beside a build (in the build
//! output directory and in each published build directory). LXC clients never
//! read it; the publisher needs it to know which compat-level indexes may list
//! the build, and `publish` needs it to re-open a build made earlier.

use std::collections::BTreeMap;

pub(crate) const FILE_NAME: &str = "image.info";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    pub dist: String,
    pub release: String,
    pub arch: String,
    /// Only known once published.
    pub variant: Option<String>,
    pub serial: String,
    pub build_time: u64,
    pub expiry: u64,
    /// Lowest compat level whose system index may list this build.
    pub min_compat_system: u8,
    /// Lowest compat level whose user index may list this build.
    pub min_compat_user: u8,
    /// The artifact files of the build, by name.
    pub files: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum InfoError {
    #[error("line {line}: expected `key=value`")]
    Syntax { line: usize },
    #[error("key `{key}` is missing")]
    Missing { key: &'static str },
    #[error("key `{key}` has an invalid value `{value}`")]
    Value { key: &'static str, value: String },
}

impl ImageInfo {
    pub(crate) fn render(&self) -> String {
        let mut s = String::new();
        let mut kv = |k: &str, v: &str| {
            s.push_str(k);
            s.push('=');
            s.push_str(v);
            s.push('\n');
        };
        kv("dist", &self.dist);
        kv("release", &self.release);
        kv("arch", &self.arch);
        if let Some(v) = &self.variant {
            kv("variant", v);
        }
        kv("serial", &self.serial);
        kv("build_time", &self.build_time.to_string());
        kv("expiry", &self.expiry.to_string());
        kv("min_compat_system", &self.min_compat_system.to_string());
        kv("min_compat_user", &self.min_compat_user.to_string());
        kv("files", &self.files.join(" "));
        s
    }

    pub(crate) fn parse(text: &str) -> Result<ImageInfo, InfoError> {
        let mut map = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (k, v) = line
                .split_once('=')
                .ok_or(InfoError::Syntax { line: i + 1 })?;
            map.insert(k.trim().to_string(), v.trim().to_string());
        }
        let get = |key: &'static str| map.get(key).cloned().ok_or(InfoError::Missing { key });
        let num = |key: &'static str| -> Result<u64, InfoError> {
            let v = get(key)?;
            v.parse().map_err(|_| InfoError::Value { key, value: v })
        };
        let level = |key: &'static str| -> Result<u8, InfoError> {
            let v = get(key)?;
            match v.parse::<u8>() {
                Ok(n) if (1..=crate::meta::MAX_COMPAT).contains(&n) => Ok(n),
                _ => Err(InfoError::Value { key, value: v }),
            }
        };
        Ok(ImageInfo {
            dist: get("dist")?,
            release: get("release")?,
            arch: get("arch")?,
            variant: map.get("variant").cloned(),
            serial: get("serial")?,
            build_time: num("build_time")?,
            expiry: num("expiry")?,
            min_compat_system: level("min_compat_system")?,
            min_compat_user: level("min_compat_user")?,
            files: get("files")?.split_whitespace().map(String::from).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let i = ImageInfo {
            dist: "busybox".into(),
            release: "1.35.0".into(),
            arch: "amd64".into(),
            variant: Some("default".into()),
            serial: "20250101_00:00".into(),
            build_time: 1,
            expiry: 2,
            min_compat_system: 5,
            min_compat_user: 5,
            files: vec!["rootfs.tar.xz".into(), "meta.tar.xz".into()],
        };
        assert_eq!(ImageInfo::parse(&i.render()).unwrap(), i);
        assert!(ImageInfo::parse("dist=x\n").is_err());
        let bad = i.render().replace("min_compat_user=5", "min_compat_user=9");
        assert!(matches!(
            ImageInfo::parse(&bad),
            Err(InfoError::Value {
                key: "min_compat_user",
                ..
            })
        ));
    }
}
