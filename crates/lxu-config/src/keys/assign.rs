//! One assignment on its way into a [`Config`](crate::Config), and the value
//! syntaxes the key table parses it with; each error names the key as written.

use std::path::PathBuf;

use crate::config::Ctx;
use crate::error::{ConfigError, Location};
use crate::values::{parse_bool01, parse_signal, parse_u32};

/// A non-empty value for one key (an empty value clears instead), with what its
/// error messages name and the evaluation context.
pub(crate) struct Assign<'a, 'r> {
    /// As written, legacy spellings included.
    pub(crate) key: &'a str,
    /// Trimmed and unquoted.
    pub(crate) value: &'a str,
    pub(crate) loc: &'a Location,
    pub(crate) ctx: &'a mut Ctx<'r>,
    /// What `Config::items` records instead of the value, when a setter
    /// completes it (hwaddr templates).
    pub(crate) recorded: Option<String>,
}

impl Assign<'_, '_> {
    pub(crate) fn bad(&self, reason: impl Into<String>) -> ConfigError {
        ConfigError::bad(self.loc, self.key, self.value, reason)
    }

    pub(crate) fn conflict(&self, reason: &str) -> ConfigError {
        ConfigError::conflict(self.loc, self.key, reason)
    }

    /// The value as text.
    pub(crate) fn text(&self) -> Result<String, ConfigError> {
        Ok(self.value.to_string())
    }

    pub(crate) fn path(&self) -> Result<PathBuf, ConfigError> {
        Ok(PathBuf::from(self.value))
    }

    /// The value as text if `ok`, else a bad value for `reason`.
    pub(crate) fn text_if(&self, ok: bool, reason: &str) -> Result<String, ConfigError> {
        if ok {
            self.text()
        } else {
            Err(self.bad(reason))
        }
    }

    /// The value if it is one of `choices`; the error lists them.
    pub(crate) fn one_of(&self, choices: &[&str]) -> Result<String, ConfigError> {
        if choices.contains(&self.value) {
            return self.text();
        }
        let (last, rest) = choices.split_last().expect("a choice");
        Err(self.bad(format!("expected {} or {last}", rest.join(", "))))
    }

    /// The value parsed by `parse`, whose error text becomes the reason.
    pub(crate) fn parse<T>(
        &self,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        parse(self.value).map_err(|r| self.bad(r))
    }

    pub(crate) fn bool01(&self) -> Result<bool, ConfigError> {
        parse_bool01(self.value).ok_or_else(|| self.bad("expected 0 or 1"))
    }

    pub(crate) fn uint(&self) -> Result<u32, ConfigError> {
        parse_u32(self.value).ok_or_else(|| self.bad("expected an unsigned number"))
    }

    pub(crate) fn signal(&self) -> Result<i32, ConfigError> {
        parse_signal(self.value)
            .ok_or_else(|| self.bad("not a signal (name like SIGPWR or SIGRTMIN+3, or 1..64)"))
    }

    /// A cgroup path below the one lxu starts from; `single`: one directory name.
    pub(crate) fn cgroup_dir(&self, single: bool) -> Result<String, ConfigError> {
        let v = self.value;
        if v.starts_with('/') {
            return Err(self.bad("cgroup paths may not be absolute"));
        }
        if v.split('/').any(|c| c == "..") {
            return Err(self.bad("cgroup paths may not walk upwards via `..`"));
        }
        if single && (v.contains('/') || v == ".") {
            return Err(self.bad("must be a single directory name"));
        }
        self.text()
    }
}
