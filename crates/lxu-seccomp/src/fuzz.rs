//! Body of the `seccomp` `cargo fuzz` target (`fuzz/`), shared with the corpus test that
//! runs on stable (`tests/fuzz_corpus.rs`), so CI replays every corpus input and crash
//! through the same code. Not an API.

use std::path::Path;

use crate::{compile, Host, Insn, Profile};

/// The `seccomp` target: a profile (`lxc.seccomp.profile`) parsed, then compiled for
/// both hosts lxu filters on; every error names the profile file.
pub fn seccomp(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = Path::new("fuzz.seccomp");
    let profile = match Profile::parse(text, file) {
        Ok(p) => p,
        Err(e) => {
            assert!(e.to_string().contains("fuzz.seccomp"), "{e}");
            return;
        }
    };
    for host in [Host::X86_64, Host::AARCH64] {
        match compile(&profile, host) {
            Ok(c) => check_program(&c.program),
            Err(e) => assert!(e.to_string().contains("fuzz.seccomp"), "{e}"),
        }
    }
}

/// What the kernel's `seccomp_check_filter`/`bpf_check_classic` would refuse (at
/// container start, far from the profile): too many instructions, a jump past the end,
/// a path that runs off the end without a `ret`.
fn check_program(p: &[Insn]) {
    assert!(
        !p.is_empty() && p.len() <= crate::compile::MAX_INSNS,
        "{} instructions",
        p.len()
    );
    for (pc, i) in p.iter().enumerate() {
        let next = pc + 1;
        match i.code & 0x07 {
            // BPF_JMP: `ja` jumps by k, the others by jt/jf.
            0x05 if i.code == 0x05 => assert!(next + (i.k as usize) < p.len(), "ja at {pc}"),
            0x05 => {
                assert!(next + usize::from(i.jt) < p.len(), "jt at {pc}");
                assert!(next + usize::from(i.jf) < p.len(), "jf at {pc}");
            }
            _ => {}
        }
    }
    assert_eq!(
        p[p.len() - 1].code & 0x07,
        0x06,
        "the program does not end with `ret`"
    );
}
