//! UTC calendar formatting without a date-time dependency.

use std::time::{SystemTime, UNIX_EPOCH};

/// A broken-down UTC time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UtcTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

/// Seconds since the epoch; times before it clamp to 0 (no image predates 1970).
pub(crate) fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Converts seconds since the epoch to a UTC calendar time (proleptic Gregorian).
pub(crate) fn utc(secs: u64) -> UtcTime {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Days-to-civil over 400-year eras (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    UtcTime {
        year,
        month,
        day,
        hour: (rem / 3600) as u32,
        minute: (rem % 3600 / 60) as u32,
        second: (rem % 60) as u32,
    }
}

/// The build serial lxc-ci uses: `date -u +%Y%m%d_%H:%M`.
pub(crate) fn serial(t: SystemTime) -> String {
    let u = utc(unix_seconds(t));
    format!(
        "{:04}{:02}{:02}_{:02}:{:02}",
        u.year, u.month, u.day, u.hour, u.minute
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn epoch_and_known_dates() {
        assert_eq!(serial(UNIX_EPOCH), "19700101_00:00");
        // 2024-02-29 23:59:59 UTC, a leap day.
        let t = UNIX_EPOCH + Duration::from_secs(1_709_251_199);
        assert_eq!(serial(t), "20240229_23:59");
        assert_eq!(utc(1_709_251_199).second, 59);
        // 2000-03-01 00:00 (century leap year boundary).
        assert_eq!(
            serial(UNIX_EPOCH + Duration::from_secs(951_868_800)),
            "20000301_00:00"
        );
    }

    #[test]
    fn agrees_with_date_command() {
        let now = unix_seconds(SystemTime::now());
        let out = std::process::Command::new("date")
            .args(["-u", "-d", &format!("@{now}"), "+%Y%m%d_%H:%M"])
            .output();
        let Ok(out) = out else {
            eprintln!("SKIP: `date` not runnable");
            return;
        };
        let expected = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert_eq!(serial(UNIX_EPOCH + Duration::from_secs(now)), expected);
    }
}
