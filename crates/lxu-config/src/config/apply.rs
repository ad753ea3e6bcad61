//! Evaluating assignments: lines of text, one key at a time, and includes.

use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::{read_text, Config, Ctx, Item, MAX_INCLUDE_DEPTH};
use crate::error::{ConfigError, Location};
use crate::keys::{classify, simple_key, Assign, Family, Key, Record, Repeat, Show, SimpleKey};
use crate::line::{classify_line, numbered_lines, LineKind};

impl Config {
    pub(super) fn apply_text(
        &mut self,
        text: &str,
        origin: &Path,
        ctx: &mut Ctx<'_>,
    ) -> Result<(), ConfigError> {
        // One Location per file, renumbered per line, keeps allocations per entry down.
        let mut loc = Location::at(origin, 0);
        for (n, line) in numbered_lines(text) {
            match classify_line(line) {
                LineKind::Entry { key, value } => {
                    loc.line = n;
                    self.apply_one(key, value, &loc, ctx)?;
                }
                LineKind::MissingEquals => {
                    return Err(ConfigError::Syntax {
                        loc: Location::at(origin, n),
                        text: line.to_string(),
                        reason: "an `lxc.` line needs `key = value`".into(),
                    })
                }
                LineKind::Blank | LineKind::Comment | LineKind::Other => {}
            }
        }
        Ok(())
    }

    pub(super) fn apply_one(
        &mut self,
        key: &str,
        value: &str,
        loc: &Location,
        ctx: &mut Ctx<'_>,
    ) -> Result<(), ConfigError> {
        let Some((k, legacy)) = classify(key) else {
            return Err(ConfigError::unknown(loc, key));
        };
        if legacy {
            self.state.legacy = true;
        }
        match k {
            Key::Removed => Ok(()),
            Key::Simple(def) => self.apply_simple(def, key, value, loc, ctx),
            Key::Family(fam, name) => self.apply_family(fam, name, key, value, loc),
            Key::Net { target, sub } => self.apply_net(target, sub, key, value, loc, ctx),
        }
    }

    fn apply_simple(
        &mut self,
        def: &SimpleKey,
        key: &str,
        value: &str,
        loc: &Location,
        ctx: &mut Ctx<'_>,
    ) -> Result<(), ConfigError> {
        if value.is_empty() {
            (def.clear)(self);
        } else {
            let mut a = Assign {
                key,
                value,
                loc,
                ctx,
                recorded: None,
            };
            (def.set)(self, &mut a)?;
        }
        let name = def.name;
        match def.record {
            Record::Last => self.item_set(name, value, loc),
            Record::List if value.is_empty() => self.items.retain(|i| i.key != name),
            Record::List => self.item_push(name.to_string(), value, loc),
            Record::Shown => {
                let Show::Value(show) = def.show else {
                    unreachable!("`{name}` records what it shows, so it shows a value");
                };
                let shown = show(self);
                self.item_set(name, &shown, loc);
            }
            Record::Own => {}
        }
        Ok(())
    }

    /// `lxc.cgroup.<file>`, `lxc.prlimit.<name>`, … and the bare prefix, which clears.
    fn apply_family(
        &mut self,
        fam: &Family,
        name: Option<&str>,
        key: &str,
        value: &str,
        loc: &Location,
    ) -> Result<(), ConfigError> {
        let Some(name) = name else {
            if !value.is_empty() {
                return Err(ConfigError::bad(
                    loc,
                    key,
                    value,
                    format!(
                        "`{0}` only takes an empty value (clear all); use `{0}.{1}`",
                        fam.prefix, fam.suffix
                    ),
                ));
            }
            (fam.values_mut)(self).clear();
            let prefix = format!("{}.", fam.prefix);
            // Simple keys under the prefix (`lxc.cgroup.dir`) are not members.
            self.items
                .retain(|i| !(i.key.starts_with(&prefix) && simple_key(&i.key).is_none()));
            return Ok(());
        };
        (fam.check)(name, value).map_err(|r| ConfigError::bad(loc, key, value, r))?;
        // The item key: the key as written unless that is a legacy spelling.
        let ck = match key.strip_prefix(fam.prefix) {
            Some(rest) if rest.len() == name.len() + 1 => key.to_string(),
            _ => format!("{}.{name}", fam.prefix),
        };
        match fam.repeat {
            Repeat::Append if value.is_empty() => {
                (fam.values_mut)(self).remove(name);
                self.items.retain(|i| i.key != ck);
            }
            Repeat::Append => {
                (fam.values_mut)(self).push(name, value);
                self.item_push(ck, value, loc);
            }
            Repeat::Replace => {
                let list = (fam.values_mut)(self);
                if value.is_empty() {
                    list.remove(name);
                } else {
                    list.replace(name, value);
                }
                self.item_replace(ck, value, loc);
            }
        }
        Ok(())
    }

    /// Replaces every item of `key` by one (none for an empty value).
    pub(super) fn item_set(&mut self, key: &str, value: &str, loc: &Location) {
        self.items.retain(|i| i.key != key);
        if !value.is_empty() {
            self.item_push(key.to_string(), value, loc);
        }
    }

    pub(crate) fn item_push(&mut self, key: String, value: &str, loc: &Location) {
        self.items.push(Item {
            key,
            value: value.to_string(),
            loc: loc.clone(),
        });
    }

    /// Gives the item of `key` the value in its place (removes it for an empty
    /// value), or adds one.
    fn item_replace(&mut self, key: String, value: &str, loc: &Location) {
        match self.items.iter().position(|i| i.key == key) {
            Some(_) if value.is_empty() => self.items.retain(|i| i.key != key),
            Some(at) => {
                self.items[at].value = value.to_string();
                self.items[at].loc = loc.clone();
            }
            None if value.is_empty() => {}
            None => self.item_push(key, value, loc),
        }
    }

    /// `lxc.include`: a file, or the `*.conf` files of a directory in name order;
    /// a missing directory is no error.
    pub(crate) fn include(&mut self, a: &mut Assign<'_, '_>) -> Result<(), ConfigError> {
        let v = a.value;
        self.includes.push(PathBuf::from(v));
        let path = Path::new(v);
        if !(v.ends_with('/') || path.is_dir()) {
            return self.include_file(path, a.loc, a.ctx);
        }
        let rd = match std::fs::read_dir(path) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(source) => {
                return Err(ConfigError::Include {
                    loc: a.loc.clone(),
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        let mut names: Vec<OsString> = rd
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .filter(|n| {
                let b = n.as_bytes();
                b.len() >= 6 && b.ends_with(b".conf")
            })
            .collect();
        names.sort();
        for n in names {
            self.include_file(&path.join(n), a.loc, a.ctx)?;
        }
        Ok(())
    }

    fn include_file(
        &mut self,
        path: &Path,
        loc: &Location,
        ctx: &mut Ctx<'_>,
    ) -> Result<(), ConfigError> {
        if ctx.stack.len() > MAX_INCLUDE_DEPTH || ctx.stack.iter().any(|p| p == path) {
            return Err(ConfigError::IncludeDepth {
                loc: loc.clone(),
                path: path.to_path_buf(),
            });
        }
        let include_err = |source| ConfigError::Include {
            loc: loc.clone(),
            path: path.to_path_buf(),
            source,
        };
        // Checked before opening: opening a FIFO blocks, and reading `/dev/zero` or a
        // terminal would never end.
        if !std::fs::metadata(path).map_err(include_err)?.is_file() {
            return Err(ConfigError::IncludeNotFile {
                loc: loc.clone(),
                path: path.to_path_buf(),
            });
        }
        let text = read_text(path).map_err(include_err)?;
        ctx.stack.push(path.to_path_buf());
        let r = self.apply_text(&text, path, ctx);
        ctx.stack.pop();
        r
    }
}
