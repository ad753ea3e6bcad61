//! A tiny xorshift generator for hwaddr templates. Not for secrets: it only has
//! to make MAC collisions between containers unlikely, like LXC's `rand_r`.

use std::cell::Cell;
use std::io::Read;

thread_local! {
    static STATE: Cell<u64> = const { Cell::new(0) };
}

fn seed() -> u64 {
    let mut buf = [0u8; 8];
    let from_urandom = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .is_ok();
    let mut s = u64::from_ne_bytes(buf);
    if !from_urandom || s == 0 {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        s ^= t ^ (u64::from(std::process::id()) << 32) ^ 0x9e37_79b9_7f4a_7c15;
    }
    s | 1
}

/// One random byte from the per-thread generator (seeded from /dev/urandom once).
pub(crate) fn random_byte() -> u8 {
    STATE.with(|st| {
        let mut x = st.get();
        if x == 0 {
            x = seed();
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        st.set(x);
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_vary() {
        let v: Vec<u8> = (0..256).map(|_| random_byte()).collect();
        let distinct: std::collections::HashSet<_> = v.iter().collect();
        assert!(distinct.len() > 100, "{distinct:?}");
        // Both nibbles must be exercised for hwaddr digits.
        assert!(v.iter().any(|b| b & 0x0f == 0x0f));
        assert!(v.iter().any(|b| b & 0x0f == 0));
    }
}
