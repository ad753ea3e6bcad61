//! Tiny static x86-64 programs for the attack tests: a busybox container has no compiler
//! and no program that makes an arbitrary ioctl, so the tests bring their own (an ELF
//! header and a few instructions, the assembly beside each).

/// A static ELF executable running `code` (position-independent) at its first byte.
pub fn x86_64_static(code: &[u8]) -> Vec<u8> {
    const BASE: u64 = 0x40_0000;
    let start = 64 + 56;
    let len = (start + code.len()) as u64;
    let mut v = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    v.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    v.extend_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    v.extend_from_slice(&1u32.to_le_bytes());
    v.extend_from_slice(&(BASE + start as u64).to_le_bytes()); // entry
    v.extend_from_slice(&64u64.to_le_bytes()); // phoff
    v.extend_from_slice(&0u64.to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(&64u16.to_le_bytes());
    v.extend_from_slice(&56u16.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes());
    v.extend_from_slice(&[0; 6]);
    // PT_LOAD, R+X, the whole file.
    v.extend_from_slice(&1u32.to_le_bytes());
    v.extend_from_slice(&5u32.to_le_bytes());
    v.extend_from_slice(&0u64.to_le_bytes());
    v.extend_from_slice(&BASE.to_le_bytes());
    v.extend_from_slice(&BASE.to_le_bytes());
    v.extend_from_slice(&len.to_le_bytes());
    v.extend_from_slice(&len.to_le_bytes());
    v.extend_from_slice(&0x1000u64.to_le_bytes());
    v.extend_from_slice(code);
    v
}

/// A program that pushes `text` into the input of its stderr's terminal, one `TIOCSTI`
/// per byte (what a hostile command does to the terminal of whoever runs it), and exits
/// 0 when every byte went in, 3 when the kernel refused.
pub fn tiocsti_injector(text: &str) -> Vec<u8> {
    let n = u32::try_from(text.len()).expect("short text").to_le_bytes();
    let mut code = vec![
        0x4c, 0x8d, 0x25, 0x41, 0x00, 0x00, 0x00, //   lea  r12, [rip+0x41]   ; text
        0x41, 0xbd, n[0], n[1], n[2], n[3], //         mov  r13d, len
        0x4d, 0x85, 0xed, //                       2:  test r13, r13
        0x74, 0x21, //                                 jz   ok
        0xbf, 0x02, 0x00, 0x00, 0x00, //               mov  edi, 2            ; stderr
        0xbe, 0x12, 0x54, 0x00, 0x00, //               mov  esi, 0x5412       ; TIOCSTI
        0x4c, 0x89, 0xe2, //                           mov  rdx, r12
        0xb8, 0x10, 0x00, 0x00, 0x00, //               mov  eax, 16           ; ioctl
        0x0f, 0x05, //                                 syscall
        0x48, 0x85, 0xc0, //                           test rax, rax
        0x75, 0x11, //                                 jnz  fail
        0x49, 0xff, 0xc4, //                           inc  r12
        0x49, 0xff, 0xcd, //                           dec  r13
        0xeb, 0xda, //                                 jmp  2b
        0x31, 0xff, //                             ok: xor  edi, edi
        0xb8, 0xe7, 0x00, 0x00, 0x00, //               mov  eax, 231          ; exit_group
        0x0f, 0x05, //                                 syscall
        0xbf, 0x03, 0x00, 0x00, 0x00, //         fail: mov  edi, 3
        0xb8, 0xe7, 0x00, 0x00, 0x00, //               mov  eax, 231
        0x0f, 0x05, //                                 syscall
    ];
    assert_eq!(code.len(), 0x48);
    code.extend_from_slice(text.as_bytes());
    x86_64_static(&code)
}

/// A program that makes the i386 `umask(arg)` call (number 60) through `int 0x80` with
/// the 64-bit `arg` in rbx (the kernel uses its low half) and exits with the negated
/// result: the errno a seccomp rule returned, or the negated old umask.
pub fn int80_umask(arg: u64) -> Vec<u8> {
    let a = arg.to_le_bytes();
    let code = vec![
        0x48, 0xbb, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], // movabs rbx, arg
        0xb8, 0x3c, 0x00, 0x00, 0x00, //                               mov  eax, 60  ; umask
        0xcd, 0x80, //                                                 int  0x80
        0xf7, 0xd8, //                                                 neg  eax
        0x89, 0xc7, //                                                 mov  edi, eax
        0xb8, 0xe7, 0x00, 0x00,
        0x00, //                               mov  eax, 231 ; exit_group
        0x0f, 0x05, //                                                 syscall
    ];
    x86_64_static(&code)
}

/// Standard base64 (for `base64 -d` in the container).
pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for (i, c) in data.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            s.push('\n');
        }
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= c.len() {
                s.push(A[(n >> (18 - 6 * k)) as usize & 63] as char);
            } else {
                s.push('=');
            }
        }
    }
    s.push('\n');
    s
}
