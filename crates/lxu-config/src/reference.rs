//! `lxu.container.conf(5)`, the reference of the container configuration keys.

/// `lxu.container.conf(5)` for lxu `version`, as roff source for man(1).
pub fn man_page(version: &str) -> String {
    format!(
        ".TH LXU.CONTAINER.CONF 5 \"\" \"lxu {version}\" \"File Formats\"\n\
         .SH NAME\n\
         lxu.container.conf \\- container configuration of lxu, in LXC's format\n\
         .SH DESCRIPTION\n\
         Each container's \\fIconfig\\fR file holds \\fBkey = value\\fR lines with LXC's key names.\n\
         .SH SEE ALSO\n\
         \\fBlxu\\fR(1), \\fBlxc.container.conf\\fR(5)\n"
    )
}
