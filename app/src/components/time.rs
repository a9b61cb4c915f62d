//! Times and days in the reader's own time zone (the browser's; UTC while rendering on
//! the server, where no message times are shown).

use chrono::{DateTime, Utc};

use crate::i18n::{Locale, td_string};

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

/// "Today", "Yesterday" or "12 March 2026" ("Сегодня", "Вчера", "12 марта 2026").
pub fn day_label(locale: Locale, at: DateTime<Utc>) -> String {
    let day = day_key(at);
    if day == day_key(Utc::now()) {
        return td_string!(locale, common.today).to_string();
    }
    if day == day_key(Utc::now() - chrono::Duration::days(1)) {
        return td_string!(locale, common.yesterday).to_string();
    }
    date(locale, day)
}

/// "12 March 2026" from a [`day_key`].
fn date(locale: Locale, (year, month0, day): (i32, u32, u32)) -> String {
    let month = match month0 {
        0 => td_string!(locale, common.month_1),
        1 => td_string!(locale, common.month_2),
        2 => td_string!(locale, common.month_3),
        3 => td_string!(locale, common.month_4),
        4 => td_string!(locale, common.month_5),
        5 => td_string!(locale, common.month_6),
        6 => td_string!(locale, common.month_7),
        7 => td_string!(locale, common.month_8),
        8 => td_string!(locale, common.month_9),
        9 => td_string!(locale, common.month_10),
        10 => td_string!(locale, common.month_11),
        _ => td_string!(locale, common.month_12),
    };
    td_string!(locale, common.date, day = day, month = month, year = year).to_string()
}

/// "last seen today at 14:05", "last seen yesterday at 09:30" or "last seen 12 March 2026".
pub fn last_seen(locale: Locale, at: DateTime<Utc>) -> String {
    let day = day_key(at);
    let time = clock(at);
    if day == day_key(Utc::now()) {
        return td_string!(locale, common.last_seen_today, time = time).to_string();
    }
    if day == day_key(Utc::now() - chrono::Duration::days(1)) {
        return td_string!(locale, common.last_seen_yesterday, time = time).to_string();
    }
    td_string!(locale, common.last_seen_on, date = date(locale, day)).to_string()
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
        assert_eq!(last_seen(Locale::en, now), format!("last seen today at {}", clock(now)));
        assert_eq!(last_seen(Locale::ru, now), format!("был(а) сегодня в {}", clock(now)));
        let long_ago = Utc.with_ymd_and_hms(2020, 3, 12, 14, 5, 0).unwrap();
        assert_eq!(last_seen(Locale::en, long_ago), "last seen 12 March 2020");
        assert_eq!(last_seen(Locale::ru, long_ago), "был(а) 12 марта 2020");
        assert_eq!(day_label(Locale::ru, long_ago), "12 марта 2020");
    }
}
