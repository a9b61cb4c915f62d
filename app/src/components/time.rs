//! Times and days in the reader's own time zone (the browser's; UTC while rendering on
//! the server, where no message times are shown).

use chrono::{DateTime, Utc};

/// "14:05"
pub fn clock(at: DateTime<Utc>) -> String {
    #[cfg(feature = "hydrate")]
    {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at.timestamp_millis() as f64));
        format!("{:02}:{:02}", date.get_hours(), date.get_minutes())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        at.format("%H:%M").to_string()
    }
}

/// A key that changes when the local calendar day changes.
pub fn day_key(at: DateTime<Utc>) -> (i32, u32, u32) {
    #[cfg(feature = "hydrate")]
    {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at.timestamp_millis() as f64));
        (date.get_full_year() as i32, date.get_month(), date.get_date())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        use chrono::Datelike;
        (at.year(), at.month0(), at.day())
    }
}

/// "Today", "Yesterday" or "12 March 2026".
pub fn day_label(at: DateTime<Utc>) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let day = day_key(at);
    if day == day_key(Utc::now()) {
        return "Today".into();
    }
    if day == day_key(Utc::now() - chrono::Duration::days(1)) {
        return "Yesterday".into();
    }
    format!("{} {} {}", day.2, MONTHS[day.1 as usize % 12], day.0)
}

/// "last seen today at 14:05", "last seen yesterday at 09:30" or "last seen 12 March 2026".
pub fn last_seen(at: DateTime<Utc>) -> String {
    let day = day_key(at);
    if day == day_key(Utc::now()) {
        return format!("last seen today at {}", clock(at));
    }
    if day == day_key(Utc::now() - chrono::Duration::days(1)) {
        return format!("last seen yesterday at {}", clock(at));
    }
    format!("last seen {}", day_label(at))
}

/// Milliseconds since the epoch, as `Date.now()` gives them in the browser.
pub fn now_ms() -> f64 {
    Utc::now().timestamp_millis() as f64
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn last_seen_names_the_time_today_and_the_date_before_yesterday() {
        let now = Utc::now();
        assert_eq!(last_seen(now), format!("last seen today at {}", clock(now)));
        let long_ago = Utc.with_ymd_and_hms(2020, 3, 12, 14, 5, 0).unwrap();
        assert_eq!(last_seen(long_ago), "last seen 12 March 2020");
    }
}
