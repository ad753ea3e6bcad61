//! Section 1 pages from the clap definitions (clap_mangen renders name, synopsis and
//! options), with the descriptions of [`crate::text`] and the sections clap does not know:
//! which LXC name a verb answers to, files, see also.

use clap::Command;
use clap_mangen::Man;

use crate::text;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `(file name, roff source)` of every section 1 page: `lxu`, each verb, and with
/// `lxc_links` each LXC tool name.
pub(crate) fn pages(lxc_links: bool) -> Vec<(String, Vec<u8>)> {
    let top = lxu::command();
    let mut out = Vec::new();
    let see_also = "\\fBlxu.container.conf\\fR(5), \\fBlxc\\fR(7), \\fBsubuid\\fR(5), \
                    \\fBuser_namespaces\\fR(7)";
    let page = Page {
        file: "lxu".into(),
        bin: "lxu".into(),
        description: text::TOP,
        positionals: None,
        extra: format!(
            ".SH FILES\n{}.SH SEE ALSO\n{see_also}\n",
            text::FILES
                .iter()
                .map(|(f, what)| format!(".TP\n\\fI{}\\fR\n{}\n", roff(f), roff(what)))
                .collect::<String>()
        ),
    };
    out.push(page.render(top.clone()));
    for sub in top.get_subcommands() {
        verb_pages(sub, "lxu", "lxu", &mut out);
    }
    if lxc_links {
        for &(applet, verb) in lxu::APPLETS {
            let Some(cmd) = lxu::applet_command(applet) else {
                continue;
            };
            let page = Page {
                file: applet.into(),
                bin: applet.into(),
                description: text::verb(verb),
                positionals: text::positionals(verb),
                extra: format!(
                    ".SH LXU\n\\fB{}\\fR is \\fBlxu\\fR(1)'s \\fB{}\\fR verb under LXC's tool \
                     name (a link to lxu made by \\fB./x install \\-\\-lxc\\-links\\fR), with \
                     LXC's option names; \\fBlxu\\-{}\\fR(1) is the same page under lxu's name.\n\
                     .SH SEE ALSO\n\\fBlxu\\fR(1), \\fBlxu\\-{}\\fR(1), {see_also}\n",
                    roff(applet),
                    roff(verb),
                    roff(verb),
                    roff(verb)
                ),
            };
            out.push(page.render(cmd));
        }
    }
    out
}

/// The pages of `cmd` (a verb of `parent`) and of its own verbs (`lxu net setup`).
fn verb_pages(
    cmd: &Command,
    file_parent: &str,
    bin_parent: &str,
    out: &mut Vec<(String, Vec<u8>)>,
) {
    let name = cmd.get_name();
    let file = format!("{file_parent}-{name}");
    let bin = format!("{bin_parent} {name}");
    let path = bin.strip_prefix("lxu ").unwrap_or(&bin).to_string();
    let applet = lxu::APPLETS.iter().find(|(_, v)| *v == path);
    let lxc = match applet {
        Some((a, _)) => format!(
            ".SH LXC\nThe same verb answers as \\fB{}\\fR, LXC's tool name, when lxu is \
             installed with \\fB./x install \\-\\-lxc\\-links\\fR.\n",
            roff(a)
        ),
        None => String::new(),
    };
    let page = Page {
        file: file.clone(),
        bin: bin.clone(),
        description: text::verb(&path),
        positionals: text::positionals(&path),
        extra: format!("{lxc}.SH SEE ALSO\n\\fBlxu\\fR(1), \\fBlxu.container.conf\\fR(5)\n"),
    };
    out.push(page.render(cmd.clone()));
    for sub in cmd.get_subcommands() {
        verb_pages(sub, &file, &bin, out);
    }
}

struct Page {
    /// The page's name (`lxu-start`), its file without the section.
    file: String,
    /// How the command is typed (`lxu start`), for the synopsis.
    bin: String,
    /// Paragraphs separated by blank lines.
    description: &'static str,
    /// The synopsis' name for the positionals, if any.
    positionals: Option<&'static str>,
    /// Roff source of the sections after clap's.
    extra: String,
}

impl Page {
    fn render(self, cmd: Command) -> (String, Vec<u8>) {
        let mut cmd = cmd;
        if let Some(name) = self.positionals {
            for id in ["rest", "args"] {
                if cmd.get_arguments().any(|a| a.get_id() == id) {
                    cmd = cmd.mut_arg(id, |a| a.value_name(name));
                }
            }
        }
        let cmd = cmd
            .display_name(self.file.clone())
            .bin_name(self.bin.clone())
            .version(VERSION)
            .long_about(self.description);
        let man = Man::new(cmd.clone())
            .title(self.file.to_uppercase())
            .section("1")
            .source(format!("lxu {VERSION}"))
            .manual("lxu manual");
        let mut buf = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = man.render_title(&mut buf);
        let _ = man.render_name_section(&mut buf);
        let _ = man.render_synopsis_section(&mut buf);
        let _ = man.render_description_section(&mut buf);
        if cmd.get_arguments().any(|a| !a.is_hide_set()) {
            let _ = man.render_options_section(&mut buf);
        }
        if cmd.has_subcommands() {
            let _ = man.render_subcommands_section(&mut buf);
        }
        buf.extend_from_slice(self.extra.as_bytes());
        (format!("{}.1", self.file), once_preamble(&buf))
    }
}

/// The page with the preamble clap_mangen writes before each section (the `Aq` string
/// definition, two lines) kept only at the top.
fn once_preamble(page: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(page);
    let mut seen = false;
    let mut out = String::with_capacity(text.len());
    let mut lines = text.lines().peekable();
    while let Some(l) = lines.next() {
        if l.starts_with(".ie \\n(.g .ds Aq")
            && lines.peek().is_some_and(|n| n.starts_with(".el .ds Aq"))
        {
            let el = lines.next().unwrap_or_default();
            if !seen {
                out.push_str(l);
                out.push('\n');
                out.push_str(el);
                out.push('\n');
                seen = true;
            }
            continue;
        }
        out.push_str(l);
        out.push('\n');
    }
    out.into_bytes()
}

/// Plain text for a roff text line: backslashes and dashes escaped, no control character
/// at the start.
fn roff(s: &str) -> String {
    let t = s.replace('\\', "\\e").replace('-', "\\-");
    if t.starts_with('.') || t.starts_with('\'') {
        format!("\\&{t}")
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page<'a>(pages: &'a [(String, Vec<u8>)], file: &str) -> &'a str {
        let (_, p) = pages
            .iter()
            .find(|(f, _)| f == file)
            .unwrap_or_else(|| panic!("no {file}"));
        std::str::from_utf8(p).unwrap()
    }

    #[test]
    fn every_verb_has_a_page_and_lxc_names_theirs() {
        let without = pages(false);
        assert!(without.iter().all(|(f, _)| !f.starts_with("lxc-")));
        let all = pages(true);
        for sub in lxu::command().get_subcommands() {
            let p = page(&all, &format!("lxu-{}.1", sub.get_name()));
            assert!(p.contains("\n.TH LXU-"), "{p}");
            assert_eq!(p.matches(".ds Aq").count(), 2, "{p}");
        }
        page(&all, "lxu-net-setup.1");
        for (applet, _) in lxu::APPLETS {
            page(&all, &format!("{applet}.1"));
        }
        let attach = page(&all, "lxc-attach.1");
        assert!(attach.contains("clear\\-env"), "{attach}");
        assert!(attach.contains(".SH DESCRIPTION"), "{attach}");
        assert!(page(&all, "lxu-start.1").contains("lxc\\-start"));
        assert!(page(&all, "lxu.1").contains("lxu\\-start(1)"));
    }

    #[test]
    fn text_lines_cannot_start_requests() {
        assert_eq!(roff(".x-y\\"), "\\&.x\\-y\\e");
    }
}
