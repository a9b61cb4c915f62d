//! What the bot says, in English and Russian (the language of the person's Telegram).

/// The bot's languages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// English (the default).
    En,
    /// Russian.
    Ru,
}

impl Lang {
    /// From a Telegram `language_code` (`ru`, `ru-RU`, `en`...); English unless Russian.
    pub fn from_code(code: Option<&str>) -> Self {
        match code {
            Some(code) if code.to_ascii_lowercase().starts_with("ru") => Self::Ru,
            _ => Self::En,
        }
    }

    /// The code stored with a link.
    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Ru => "ru",
        }
    }
}

/// How to link, for anyone who writes to the bot without a link.
pub fn how_to_link(lang: Lang) -> &'static str {
    match lang {
        Lang::En => {
            "To get notifications here, open the messenger, go to Settings → Telegram and press \"Link Telegram\", then open the link it shows (or scan its QR code)."
        }
        Lang::Ru => {
            "Чтобы получать уведомления здесь, откройте мессенджер, перейдите в Настройки → Telegram и нажмите «Привязать Telegram», затем откройте показанную ссылку (или отсканируйте QR-код)."
        }
    }
}

/// The answer to an email address typed to the bot.
pub fn no_email_linking(lang: Lang) -> String {
    let why = match lang {
        Lang::En => "I never link an account by its email address: anyone could type yours.",
        Lang::Ru => "Я не привязываю аккаунт по адресу почты: его может ввести кто угодно.",
    };
    format!("{why}\n\n{}", how_to_link(lang))
}

/// `/help`.
pub fn help(lang: Lang) -> String {
    let commands = match lang {
        Lang::En => {
            "I tell you about messages that arrive while you are offline. Reply to a notification to answer in that chat.\n\n/stop — unlink this chat from your account\n/help — this message"
        }
        Lang::Ru => {
            "Я сообщаю о сообщениях, пришедших, пока вы не в сети. Ответьте на уведомление, чтобы написать в тот чат.\n\n/stop — отвязать этот чат от аккаунта\n/help — эта справка"
        }
    };
    format!("{commands}\n\n{}", how_to_link(lang))
}

/// `/start <token>` worked.
pub fn linked(lang: Lang, name: &str, email: &str) -> String {
    match lang {
        Lang::En => format!(
            "Linked to {name} ({email}). I will tell you here about messages that arrive while you are offline; reply to a notification to answer. /stop unlinks."
        ),
        Lang::Ru => format!(
            "Привязано к аккаунту {name} ({email}). Я буду сообщать здесь о сообщениях, пришедших, пока вы не в сети; ответьте на уведомление, чтобы ответить. /stop отвязывает."
        ),
    }
}

/// `/start <token>` with a token that is unknown, used or expired.
pub fn link_invalid(lang: Lang) -> String {
    let what = match lang {
        Lang::En => "This link has expired or was already used.",
        Lang::Ru => "Ссылка устарела или уже использована.",
    };
    format!("{what}\n\n{}", how_to_link(lang))
}

/// `/start <token>` from a chat linked to another account.
pub fn chat_taken(lang: Lang) -> &'static str {
    match lang {
        Lang::En => {
            "This Telegram chat is already linked to another account. Send /stop to unlink it, then open the link again."
        }
        Lang::Ru => {
            "Этот чат Telegram уже привязан к другому аккаунту. Отправьте /stop, чтобы отвязать его, и откройте ссылку снова."
        }
    }
}

/// `/stop` worked.
pub fn unlinked(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "Unlinked. You will get no more notifications here.",
        Lang::Ru => "Отвязано. Уведомлений здесь больше не будет.",
    }
}

/// `/stop` from a chat that is not linked.
pub fn not_linked(lang: Lang) -> String {
    let what = match lang {
        Lang::En => "This chat is not linked to an account.",
        Lang::Ru => "Этот чат не привязан к аккаунту.",
    };
    format!("{what}\n\n{}", how_to_link(lang))
}

/// A reply that went into the chat.
pub fn reply_sent(lang: Lang, to: &str) -> String {
    match lang {
        Lang::En => format!("✓ Sent to {to}"),
        Lang::Ru => format!("✓ Отправлено: {to}"),
    }
}

/// A reply to something that is not a notification (or one too old to know its chat).
pub fn reply_to_what(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "To answer, reply to a notification (swipe it, or press and hold it and choose Reply).",
        Lang::Ru => {
            "Чтобы ответить, ответьте на уведомление (смахните его или нажмите и удерживайте, затем «Ответить»)."
        }
    }
}

/// A reply without text (a photo, a sticker).
pub fn text_only(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "Only text can be sent from Telegram.",
        Lang::Ru => "Из Telegram можно отправлять только текст.",
    }
}

/// A reply the messenger refused; `why` is the messenger's own words.
pub fn reply_refused(lang: Lang, why: &str) -> String {
    match lang {
        Lang::En => format!("Not sent: {why}"),
        Lang::Ru => format!("Не отправлено: {why}"),
    }
}

/// Longest preview of one message in a notification, in characters.
const PREVIEW_MAX: usize = 300;
/// Most messages previewed in one notification (the newest).
const PREVIEWS_MAX: usize = 5;

/// A notification of `unread` messages (oldest first) from `sender` in a chat, with the
/// texts when `previews`, and the link that opens the chat.
pub fn notification(lang: Lang, sender: &str, unread: &[String], previews: bool, link: &str) -> String {
    let count = unread.len();
    let head = match (lang, count) {
        (Lang::En, 1) => format!("New message from {sender}"),
        (Lang::En, n) => format!("{n} new messages from {sender}"),
        (Lang::Ru, 1) => format!("Новое сообщение от {sender}"),
        (Lang::Ru, n) => format!("{n} {} от {sender}", ru_new_messages(n)),
    };
    let mut text = head;
    if previews {
        let shown = &unread[count.saturating_sub(PREVIEWS_MAX)..];
        if let [only] = shown {
            text.push_str(": ");
            text.push_str(&preview(only));
        } else {
            text.push(':');
            for body in shown {
                text.push_str("\n• ");
                text.push_str(&preview(body));
            }
        }
    }
    let hint = match lang {
        Lang::En => "Reply to this message to answer, or open the chat",
        Lang::Ru => "Ответьте на это сообщение или откройте чат",
    };
    format!("{text}\n\n{hint}: {link}")
}

/// "новых сообщений" in the form that goes with `n`.
fn ru_new_messages(n: usize) -> &'static str {
    match (n % 10, n % 100) {
        (1, r) if r != 11 => "новое сообщение",
        (2..=4, r) if !(12..=14).contains(&r) => "новых сообщения",
        _ => "новых сообщений",
    }
}

fn preview(body: &str) -> String {
    let mut chars = body.chars();
    let mut shown: String = chars.by_ref().take(PREVIEW_MAX).collect();
    if chars.next().is_some() {
        shown.push('…');
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_message_is_shown_inline_and_a_burst_is_counted() {
        let link = "http://127.0.0.1:3000/?chat=7";
        assert_eq!(
            notification(Lang::En, "Alice", &["hi".into()], true, link),
            "New message from Alice: hi\n\nReply to this message to answer, or open the chat: http://127.0.0.1:3000/?chat=7"
        );
        let burst: Vec<String> = vec!["a".into(), "b".into(), "c".into()];
        assert!(
            notification(Lang::En, "Alice", &burst, true, link)
                .starts_with("3 new messages from Alice:\n• a\n• b\n• c\n\n")
        );
        assert!(notification(Lang::En, "Alice", &burst, false, link).starts_with("3 new messages from Alice\n\n"));
        assert!(!notification(Lang::En, "Alice", &["secret".into()], false, link).contains("secret"));
    }

    #[test]
    fn russian_counts_agree_with_the_number() {
        let texts = |n: usize| notification(Lang::Ru, "Алиса", &vec!["x".to_owned(); n], false, "l");
        assert!(texts(3).starts_with("3 новых сообщения от Алиса"));
        assert!(texts(5).starts_with("5 новых сообщений от Алиса"));
        assert!(texts(21).starts_with("21 новое сообщение от Алиса"));
        assert!(texts(11).starts_with("11 новых сообщений от Алиса"));
    }

    #[test]
    fn long_texts_are_cut_and_only_the_newest_few_are_previewed() {
        let long = "й".repeat(PREVIEW_MAX + 10);
        let text = notification(Lang::En, "A", &[long], true, "l");
        assert!(text.contains(&format!("{}…", "й".repeat(PREVIEW_MAX))));
        let many: Vec<String> = (1..=8).map(|i| format!("m{i}")).collect();
        let text = notification(Lang::En, "A", &many, true, "l");
        assert!(text.starts_with("8 new messages from A:\n• m4\n"), "{text}");
        assert!(!text.contains("m3"));
    }

    #[test]
    fn the_language_follows_telegram() {
        assert_eq!(Lang::from_code(Some("ru-RU")), Lang::Ru);
        assert_eq!(Lang::from_code(Some("de")), Lang::En);
        assert_eq!(Lang::from_code(None), Lang::En);
    }
}
