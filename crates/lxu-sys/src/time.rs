//! Local wall-clock time, for the timestamps LXC writes in local time (snapshot `ts`).

/// Broken-down local time of `secs` since the epoch: (year, month 1-12, day, hour,
/// minute, second), with the C library's idea of the time zone (`TZ`, /etc/localtime).
pub fn local(secs: i64) -> Option<(i32, u32, u32, u32, u32, u32)> {
    // The type comes from localtime_r's signature (musl's `time_t` alias is deprecated).
    let t = secs as _;
    // SAFETY: an all-zero `tm` is a valid value of the plain C struct.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call; localtime_r is the thread-safe form and
    // writes only into `tm`.
    let r = unsafe { libc::localtime_r(&t, &mut tm) };
    if r.is_null() {
        return None;
    }
    Some((
        tm.tm_year + 1900,
        (tm.tm_mon + 1) as u32,
        tm.tm_mday as u32,
        tm.tm_hour as u32,
        tm.tm_min as u32,
        tm.tm_sec as u32,
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_epoch_in_utc() {
        std::env::set_var("TZ", "UTC");
        assert_eq!(super::local(0), Some((1970, 1, 1, 0, 0, 0)));
        assert_eq!(super::local(1_795_992_621).map(|t| t.0), Some(2026));
    }
}
