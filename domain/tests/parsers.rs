//! Property tests for every parser in `domain`: [`Email`], [`DisplayName`], [`Password`],
//! [`MessageText`], [`ClientId`], [`NewMessage`], [`NewAccount`], [`UserSort`], the WebSocket
//! [`ClientFrame`] (`serde_json` on arbitrary strings and on frame-shaped JSON values, then
//! [`NewMessage::parse`] of each `send`) and, with the `ssr` feature, the directory's search
//! query as `directory::page` checks it (against a seeded SQLite database).
//!
//! What they prove, on generated inputs: no parser panics; each one accepts exactly what the
//! rules in its doc comments allow (a model of those rules, written here, decides every case)
//! and refuses the rest with its own error (a sentence, or `DomainError::Invalid` naming exactly
//! the bad fields, with the `invalid_input` code and the same fields in its public face);
//! accepted values are the trimmed / normalized input, keep the documented limits and re-parse
//! to themselves; inputs built from the rules always parse; a NUL, control or text-direction
//! character inserted where the rules forbid it is always refused.
//!
//! Cases per run (the `config(..)` of each block): emails 37,000, display names 20,000,
//! passwords 10,000, message text 19,000, client ids 15,000, new messages 8,000, new accounts
//! 5,000, sort keys 3,000, client frames 16,000, directory search 1,500 (ssr only): 134,500 in
//! all. Nothing is written to disk on failure (`failure_persistence: None`): a failure prints
//! its shrunk input.

use std::collections::{BTreeMap, BTreeSet};

use domain::error::{DomainError, ErrorKind, FieldErrors};
use domain::input::{
    CLIENT_ID_MAX, ClientId, DisplayName, EMAIL_MAX, Email, MESSAGE_MAX, MessageText, NAME_MAX, NewAccount, NewMessage,
    PASSWORD_MAX, PASSWORD_MIN, Password, is_bidi_control,
};
use domain::model::UserSort;
use domain::protocol::ClientFrame;
use proptest::prelude::*;
use serde_json::{Map, Value};

/// `cases` generated inputs, no failure files (CI runs on a clean clone), bounded shrinking.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, failure_persistence: None, max_shrink_time: 20_000, ..ProptestConfig::default() }
}

// ---------------------------------------------------------------------------------------------
// Characters and strings
// ---------------------------------------------------------------------------------------------

/// Characters the parsers treat specially: controls (C0, C1, the whitespace ones), Unicode
/// whitespace, direction marks and overrides with their neighbours, letters whose lower case is
/// longer or different in UTF-8, combining marks, and the punctuation of addresses and JSON.
const TRICKY: &[char] = &[
    '\0', '\t', '\n', '\r', '\u{b}', '\u{c}', '\u{1b}', '\u{7f}', '\u{85}', '\u{9b}', '\u{a0}', '\u{1680}', '\u{2028}',
    '\u{2029}', '\u{3000}', '\u{feff}', '\u{200b}', '\u{200e}', '\u{200f}', '\u{61c}', '\u{202a}', '\u{202b}',
    '\u{202c}', '\u{202d}', '\u{202e}', '\u{202f}', '\u{2065}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
    '\u{206a}', 'İ', 'Ⱥ', '\u{212a}', 'ẞ', 'Σ', 'я', '李', '😀', '\u{301}', '@', '.', '-', '_', '"', '\\', '<', '>',
    ' ', '%',
];

/// Whitespace that `str::trim` removes (controls among it: tab, line breaks, NEL).
const WHITESPACE: &[char] = &[' ', '\t', '\n', '\r', '\u{b}', '\u{c}', '\u{85}', '\u{a0}', '\u{2028}', '\u{3000}'];

/// Whitespace that `str::trim` removes and a message may hold (no VT, FF or NEL).
const TEXT_WHITESPACE: &[char] = &[' ', '\t', '\n', '\r', '\u{a0}', '\u{2028}', '\u{3000}'];

// Strings are generated as integers mapped to characters: in a debug build that is many times
// cheaper than proptest's `char` strategies, which is what keeps 100,000+ cases fast.

/// Printable ASCII.
fn printable(n: u32) -> char {
    char::from(b' ' + (n % 95) as u8)
}

/// Any code point (half of the time from the BMP); U+FFFD for a surrogate.
fn code_point(n: u32) -> char {
    let end = if n.is_multiple_of(2) { 0x1_0000 } else { 0x11_0000 };
    char::from_u32((n >> 1) % end).unwrap_or('\u{fffd}')
}

/// Mostly printable ASCII, often a tricky character, sometimes a C0 or C1 control, otherwise
/// any code point.
fn tricky(n: u32) -> char {
    let pick = n >> 4;
    match n % 16 {
        0..=5 => printable(pick),
        6..=8 => TRICKY[pick as usize % TRICKY.len()],
        9 => char::from_u32(pick % 0x20).unwrap_or('\0'),
        10 => char::from_u32(0x7f + pick % 0x21).unwrap_or('\u{7f}'),
        _ => code_point(pick),
    }
}

fn tricky_char() -> impl Strategy<Value = char> {
    any::<u32>().prop_map(tricky)
}

/// `len` characters made by `to_char` from generated integers.
fn chars_of(len: impl Into<prop::collection::SizeRange>, to_char: fn(u32) -> char) -> impl Strategy<Value = Vec<char>> {
    prop::collection::vec(any::<u32>(), len).prop_map(move |ns| ns.into_iter().map(to_char).collect())
}

/// Up to `max` characters of anything, biased to the tricky ones.
fn tricky_string(max: usize) -> impl Strategy<Value = String> {
    chars_of(0..=max, tricky).prop_map(String::from_iter)
}

fn whitespace() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(WHITESPACE), 0..=3).prop_map(String::from_iter)
}

fn text_whitespace() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TEXT_WHITESPACE), 0..=3).prop_map(String::from_iter)
}

/// `core` with trimmable whitespace around it.
fn padded(core: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    (whitespace(), core, whitespace()).prop_map(|(before, core, after)| format!("{before}{core}{after}"))
}

/// The control characters (`char::is_control`, Unicode's Cc) that are not tab or line breaks.
fn forbidden_control() -> impl Strategy<Value = char> {
    prop_oneof![
        proptest::char::range('\0', '\u{8}'),
        proptest::char::range('\u{b}', '\u{c}'),
        proptest::char::range('\u{e}', '\u{1f}'),
        proptest::char::range('\u{7f}', '\u{9f}'),
    ]
}

/// Any Cc control character, tab and line breaks included.
fn any_control() -> impl Strategy<Value = char> {
    prop_oneof![proptest::char::range('\0', '\u{1f}'), proptest::char::range('\u{7f}', '\u{9f}')]
}

/// The explicit embeddings, overrides and isolates that `is_bidi_control` documents.
fn documented_bidi_control(c: char) -> bool {
    ('\u{202A}'..='\u{202E}').contains(&c) || ('\u{2066}'..='\u{2069}').contains(&c)
}

fn bidi_control() -> impl Strategy<Value = char> {
    prop_oneof![proptest::char::range('\u{202a}', '\u{202e}'), proptest::char::range('\u{2066}', '\u{2069}')]
}

/// `text` with `c` inserted before its `at % (len + 1)`-th character.
fn insert_at(text: &str, at: usize, c: char) -> String {
    let chars: Vec<char> = text.chars().collect();
    let at = at % (chars.len() + 1);
    chars[..at].iter().chain([&c]).chain(&chars[at..]).collect()
}

/// `text` with `c` inserted strictly inside it (never first or last); `text` has 2+ characters.
fn insert_inside(text: &str, at: usize, c: char) -> String {
    let len = text.chars().count();
    assert!(len >= 2, "{text:?} has no inside");
    insert_at(text, 1 + at % (len - 1), c)
}

/// `chars` with whitespace at either end replaced, so that trimming leaves it whole.
fn without_outer_whitespace(mut chars: Vec<char>) -> String {
    if let Some(first) = chars.first_mut()
        && first.is_whitespace()
    {
        *first = 'N';
    }
    if let Some(last) = chars.last_mut()
        && last.is_whitespace()
    {
        *last = 'n';
    }
    chars.into_iter().collect()
}

/// `DomainError::Invalid`, with a sentence for each field, the `invalid` kind and
/// `invalid_input` code, and the same fields in what clients see; returns the fields.
fn invalid_fields(error: &DomainError) -> Result<&FieldErrors, TestCaseError> {
    let DomainError::Invalid(fields) = error else {
        return Err(TestCaseError::fail(format!("expected DomainError::Invalid, got {error:?}")));
    };
    prop_assert!(!fields.is_empty());
    prop_assert!(
        fields.values().all(|reason| !reason.message.trim().is_empty() && !reason.code.is_empty()),
        "{fields:?}"
    );
    prop_assert_eq!(error.kind(), ErrorKind::Invalid);
    prop_assert_eq!(error.code(), "invalid_input");
    let public = error.public();
    prop_assert_eq!(public.kind, ErrorKind::Invalid);
    prop_assert_eq!(public.code.as_str(), "invalid_input");
    // Each field's problem in English and as its code, under the same names.
    let messages = fields.iter().map(|(name, p)| (name.clone(), p.message.clone())).collect::<BTreeMap<_, _>>();
    let codes = fields.iter().map(|(name, p)| (name.clone(), p.code.to_owned())).collect::<BTreeMap<_, _>>();
    prop_assert_eq!(&public.fields, &messages);
    prop_assert_eq!(&public.field_codes, &codes);
    Ok(fields)
}

fn keys(fields: &FieldErrors) -> BTreeSet<&str> {
    fields.keys().map(String::as_str).collect()
}

// ---------------------------------------------------------------------------------------------
// Emails
// ---------------------------------------------------------------------------------------------

/// A dot-atom address of printable ASCII, as RFC 5322 allows and within the RFC 5321 limits
/// (local part at most 64 bytes, labels at most 63, at most 254 characters in all).
fn dot_atom_address() -> impl Strategy<Value = String> {
    (dot_atom_local(), prop::collection::vec(label(), 1..=3))
        .prop_map(|(local, labels)| format!("{local}@{}", labels.join(".")))
}

/// RFC 5322 `atext` in ASCII.
const ATEXT: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+/=?^_`{|}~-";
/// Letters, digits, hyphen.
const LDH: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-";

fn atext(n: u32) -> char {
    char::from(ATEXT[n as usize % ATEXT.len()])
}

fn ldh(n: u32) -> char {
    char::from(LDH[n as usize % LDH.len()])
}

/// 1 to 3 atoms of 1 to 16 characters, joined by dots: at most 50 bytes.
fn dot_atom_local() -> impl Strategy<Value = String> {
    prop::collection::vec(chars_of(1..=16, atext), 1..=3)
        .prop_map(|atoms| atoms.into_iter().map(String::from_iter).collect::<Vec<_>>().join("."))
}

/// A domain label: 1 to 63 letters, digits and hyphens, not starting or ending with a hyphen.
fn label() -> impl Strategy<Value = String> {
    chars_of(1..=63, ldh).prop_map(|mut chars| {
        let last = chars.len() - 1;
        for end in [0, last] {
            if chars[end] == '-' {
                chars[end] = 'x';
            }
        }
        chars.into_iter().collect()
    })
}

/// A dot-atom address or one with an IPv4 domain literal.
fn ascii_address() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => dot_atom_address(),
        1 => (dot_atom_local(), any::<[u8; 4]>())
            .prop_map(|(local, [a, b, c, d])| format!("{local}@[{a}.{b}.{c}.{d}]")),
    ]
}

/// Letters (all alphanumeric), some with special lower cases: `İ` becomes `i` and a combining
/// dot, `Ⱥ` grows from 2 to 3 bytes, the Kelvin sign becomes an ASCII `k`.
const LETTERS: &[char] = &[
    'a', 'b', 'z', 'A', 'Q', 'Z', '0', '7', 'é', 'É', 'ж', 'Ж', '李', 'ß', 'ẞ', 'σ', 'Σ', '\u{212a}', 'İ', 'ı', 'Ⱥ',
    'ⱥ', 'Ω', 'ǅ',
];

fn word(max: usize) -> impl Strategy<Value = String> {
    chars_of(1..=max, |n| LETTERS[n as usize % LETTERS.len()]).prop_map(String::from_iter)
}

/// An internationalized address (RFC 6531): non-ASCII letters in the local part and in the
/// labels, each within its byte limit (a word of `n` letters has at most `3n` bytes).
fn unicode_address() -> impl Strategy<Value = String> {
    let local = prop::collection::vec(word(10), 1..=2).prop_map(|words| words.join("."));
    let domain = prop::collection::vec(word(20), 1..=3).prop_map(|labels| labels.join("."));
    (local, domain).prop_map(|(local, domain)| format!("{local}@{domain}"))
}

/// Mostly `İ` (two bytes, and two characters once lower-cased), sometimes `a` or `Ⱥ`.
fn heavy_capital(n: u32) -> char {
    match n % 10 {
        0 => 'a',
        1 => 'Ⱥ',
        _ => 'İ',
    }
}

/// Pieces of addresses, glued at random: mostly nonsense, sometimes an address.
fn email_soup() -> impl Strategy<Value = String> {
    #[rustfmt::skip]
    const TOKENS: &[&str] = &[
        "a", "Z", "x9", "é", "İ", "Ⱥ", "@", "@", ".", "-", "_", "+", "'", " ", "\t", "\n", " <", "<", ">", "\"", "\\",
        "[", "]", "(", ")", ",", ":", "\0", "\u{1}", "\u{85}", "\u{202e}", "example", "COM", "..", "127.0.0.1",
        "ann@example.com",
    ];
    prop::collection::vec(prop::sample::select(TOKENS), 0..=12).prop_map(|tokens| tokens.concat())
}

fn email_input() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => email_soup(),
        3 => padded(ascii_address()),
        1 => padded(unicode_address()),
        2 => tricky_string(30),
    ]
}

/// An ASCII address of exactly `len` characters with a `local_len`-character local part,
/// labels of at most 63; `None` when the domain would not fit its 254 bytes.
fn address_of_len(len: usize, local_len: usize, pool: &[char]) -> Option<String> {
    let domain_len = len.checked_sub(local_len + 1).filter(|&d| (1..=254).contains(&d))?;
    let mut letters = pool.iter().copied().cycle();
    let mut address: String = letters.by_ref().take(local_len).collect();
    address.push('@');
    let mut left = domain_len;
    while left > 0 {
        let label = match left {
            0..=63 => left,
            64 => 62,
            _ => 63,
        };
        address.extend(letters.by_ref().take(label));
        left -= label;
        if left > 0 {
            address.push('.');
            left -= 1;
        }
    }
    Some(address)
}

proptest! {
    #![proptest_config(config(10_000))]

    /// Any string is an email or a reason; an email is the trimmed input lower-cased, and
    /// only non-blank inputs of at most `EMAIL_MAX` characters with an `@` can be one.
    #[test]
    fn any_string_is_an_email_or_a_reason(raw in prop_oneof![email_input(), tricky_string(300)]) {
        let trimmed = raw.trim();
        match Email::parse(&raw) {
            Ok(email) => {
                prop_assert_eq!(email.as_str(), trimmed.to_lowercase());
                prop_assert!(!trimmed.is_empty());
                prop_assert!(trimmed.chars().count() <= EMAIL_MAX);
                prop_assert!(trimmed.contains('@'));
            }
            Err(reason) => prop_assert!(!reason.message.trim().is_empty()),
        }
    }
}

proptest! {
    #![proptest_config(config(8_000))]

    /// Addresses built from the syntax rules (ASCII, IPv4 literals, internationalized) always
    /// parse, to themselves trimmed and lower-cased, whatever their case and padding.
    #[test]
    fn addresses_built_from_the_rules_always_parse(
        address in prop_oneof![3 => ascii_address(), 1 => unicode_address()]
            // Lower-casing can turn a letter into one plus a combining mark (`İ`), which no
            // address may end a label with: such addresses are refused (see below).
            .prop_filter("still an address once lower-cased", |a| email_address::EmailAddress::is_valid(&a.to_lowercase())),
        before in whitespace(),
        after in whitespace(),
    ) {
        let email = Email::parse(&format!("{before}{address}{after}"));
        prop_assert_eq!(email.map(|email| email.as_str().to_owned()), Ok(address.to_lowercase()));
    }

    /// A NUL, any other ASCII control, a space or a special character (`"(),:;<>@[\]`) inside
    /// a dot-atom address makes it refused.
    #[test]
    fn a_control_or_special_character_inside_an_address_is_refused(
        address in dot_atom_address(),
        c in prop_oneof![
            3 => proptest::char::range('\0', '\u{1f}'),
            1 => Just('\u{7f}'),
            3 => prop::sample::select(vec![' ', '"', '(', ')', ',', ':', ';', '<', '>', '@', '[', '\\', ']']),
        ],
        at in any::<usize>(),
    ) {
        let raw = insert_inside(&address, at, c);
        prop_assert!(Email::parse(&raw).is_err(), "{:?} was accepted", raw);
    }
}

proptest! {
    #![proptest_config(config(2_000))]

    /// The `EMAIL_MAX` limit counts characters: a well-formed address of `len` characters
    /// is accepted exactly when `len <= EMAIL_MAX`, and padding does not count.
    #[test]
    fn addresses_are_accepted_up_to_email_max_characters(
        (raw, len) in (230usize..=280, 1usize..=64, chars_of(1..=40, |n| char::from(b'a' + (n % 26) as u8)))
            .prop_filter_map("the domain fits in 254 bytes", |(len, local_len, pool)| {
                address_of_len(len, local_len, &pool).map(|address| (address, len))
            }),
        before in whitespace(),
        after in whitespace(),
    ) {
        let accepted = Email::parse(&format!("{before}{raw}{after}")).is_ok();
        prop_assert_eq!(accepted, len <= EMAIL_MAX, "{} characters", len);
    }

    /// `Email` is "a syntactically valid email address" and input types "can only hold a valid
    /// value": only a bare address (addr-spec) may parse, not a display name with an address
    /// in angle brackets (`Ann <ann@example.com>`), whatever the display name holds.
    #[test]
    fn only_a_bare_address_is_an_email(
        display in prop_oneof![
            prop::sample::select(vec!["Ann", "Ann Lee", "\"Ann\"", "\0", "\u{202e}", "x@y.z"]).prop_map(str::to_owned),
            tricky_string(10),
        ].prop_filter("a display name", |d| !d.trim().is_empty()),
        address in ascii_address(),
    ) {
        let raw = format!("{display} <{address}>");
        let parsed = Email::parse(&raw);
        prop_assert!(parsed.is_err(), "{:?} was accepted as {:?}", raw, parsed.as_ref().map(Email::as_str));
    }

            /// The stored address is one the users table has room for: `EMAIL_MAX` characters
    /// (`users.email` is `varchar(254)`), also after lower-casing, which lengthens some
    /// letters (`İ` becomes `i` and a combining dot). The addresses here sit near the byte
    /// limits (64 in the local part, 63 per label), mostly in two-byte capitals.
    #[test]
    fn a_parsed_email_has_at_most_email_max_characters(
        local in chars_of(28..=32, heavy_capital),
        labels in prop::collection::vec(chars_of(28..=31, heavy_capital), 3..=4),
    ) {
        let local: String = local.into_iter().collect();
        let domain = labels.into_iter().map(String::from_iter).collect::<Vec<_>>().join(".");
        let raw = format!("{local}@{domain}");
        let stored = raw.to_lowercase();
        match Email::parse(&raw) {
            Ok(email) => prop_assert!(
                email.as_str().chars().count() <= EMAIL_MAX,
                "{:?} ({} characters) parsed to {} characters",
                raw,
                raw.chars().count(),
                email.as_str().chars().count()
            ),
            // Refused only when what would be stored is too long or no longer an address.
            Err(reason) => prop_assert!(
                stored.chars().count() > EMAIL_MAX || !email_address::EmailAddress::is_valid(&stored),
                "{:?} was refused: {}",
                raw,
                reason
            ),
        }
    }
}

proptest! {
    #![proptest_config(config(5_000))]

    /// Parsing is idempotent: a parsed email's string parses again, to the same email.
    #[test]
    fn a_parsed_email_parses_to_itself(raw in prop_oneof![padded(unicode_address()), email_input()]) {
        if let Ok(email) = Email::parse(&raw) {
            let again = Email::parse(email.as_str());
            prop_assert_eq!(again.as_ref(), Ok(&email), "{:?} parsed to {:?}", raw, email.as_str());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Display names
// ---------------------------------------------------------------------------------------------

/// What the rules make of a name: trimmed, 1 to `NAME_MAX` characters, no control and no
/// direction-control characters.
fn expected_name(raw: &str) -> Option<&str> {
    let trimmed = raw.trim();
    let len = trimmed.chars().count();
    let allowed = trimmed.chars().all(|c| !c.is_control() && !documented_bidi_control(c));
    ((1..=NAME_MAX).contains(&len) && allowed).then_some(trimmed)
}

/// Anything but controls and direction controls (whitespace included): mostly printable
/// ASCII, otherwise any code point, with a `·` instead of a forbidden one.
fn name_char(n: u32) -> char {
    let c = if n % 8 < 5 { printable(n >> 3) } else { code_point(n >> 3) };
    if c.is_control() || documented_bidi_control(c) { '·' } else { c }
}

/// A name the rules allow, `len` characters long after trimming.
fn valid_name(len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    chars_of(len, name_char).prop_map(without_outer_whitespace)
}

fn name_input() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => tricky_string(70),
        3 => padded(valid_name(1..=NAME_MAX)),
        1 => valid_name(NAME_MAX - 2..=NAME_MAX + 2),
        1 => whitespace(),
    ]
}

proptest! {
    #![proptest_config(config(10_000))]

    /// A name parses exactly when the rules allow it, to the trimmed input, which obeys the
    /// limits and parses to itself again; otherwise there is a reason.
    #[test]
    fn names_follow_their_rules(raw in name_input()) {
        match (DisplayName::parse(&raw), expected_name(&raw)) {
            (Ok(name), Some(expected)) => {
                prop_assert_eq!(name.as_str(), expected);
                prop_assert!((1..=NAME_MAX).contains(&name.as_str().chars().count()));
                prop_assert!(!name.as_str().chars().any(|c| c.is_control() || is_bidi_control(c)));
                prop_assert_eq!(DisplayName::parse(name.as_str()).ok(), Some(name.clone()));
            }
            (Err(reason), None) => prop_assert!(!reason.message.trim().is_empty()),
            (parsed, expected) => {
                return Err(TestCaseError::fail(format!("{raw:?}: parsed {parsed:?}, the rules say {expected:?}")));
            }
        }
    }
}

proptest! {
    #![proptest_config(config(5_000))]

    /// Names built from the rules (1 to 64 characters, any script, inner spaces) always parse.
    #[test]
    fn names_built_from_the_rules_always_parse(
        name in valid_name(1..=NAME_MAX),
        before in whitespace(),
        after in whitespace(),
    ) {
        let parsed = DisplayName::parse(&format!("{before}{name}{after}"));
        prop_assert_eq!(parsed.as_ref().map(DisplayName::as_str), Ok(name.as_str()));
    }

    /// A control character (NUL, tab and line breaks included) inside a name, or a direction
    /// control anywhere in it, makes it refused.
    #[test]
    fn a_control_or_direction_character_in_a_name_is_refused(
        name in valid_name(2..=NAME_MAX - 1),
        control in any_control(),
        bidi in bidi_control(),
        at in any::<usize>(),
    ) {
        let with_control = insert_inside(&name, at, control);
        prop_assert!(DisplayName::parse(&with_control).is_err(), "{:?} was accepted", with_control);
        let with_bidi = insert_at(&name, at, bidi);
        prop_assert!(DisplayName::parse(&with_bidi).is_err(), "{:?} was accepted", with_bidi);
    }
}

/// `is_bidi_control` is exactly the two documented ranges, checked for every character.
#[test]
fn is_bidi_control_is_exactly_the_documented_ranges() {
    for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
        assert_eq!(is_bidi_control(c), documented_bidi_control(c), "{c:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Passwords
// ---------------------------------------------------------------------------------------------

fn password_input() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => tricky_string(PASSWORD_MAX + 12),
        1 => "[a-z ]{0,12}",
        1 => chars_of(PASSWORD_MAX - 3..=PASSWORD_MAX + 3, code_point).prop_map(String::from_iter),
    ]
}

proptest! {
    #![proptest_config(config(8_000))]

    /// A password is accepted exactly when it has `PASSWORD_MIN` to `PASSWORD_MAX` characters,
    /// and is kept as typed (not trimmed); its `Debug` never shows it.
    #[test]
    fn passwords_are_kept_as_typed_within_their_length(raw in password_input()) {
        let len = raw.chars().count();
        match Password::parse(&raw) {
            Ok(password) => {
                prop_assert!((PASSWORD_MIN..=PASSWORD_MAX).contains(&len), "{} characters accepted", len);
                prop_assert_eq!(password.expose(), raw.as_str());
                prop_assert_eq!(format!("{password:?}"), "Password(***)");
            }
            Err(reason) => {
                prop_assert!(!(PASSWORD_MIN..=PASSWORD_MAX).contains(&len), "{} characters refused", len);
                prop_assert!(!reason.message.trim().is_empty());
            }
        }
    }
}

proptest! {
    #![proptest_config(config(2_000))]

    /// Length is counted in characters, not bytes: `n` copies of any one character (1 to 4
    /// bytes, whitespace too) are accepted exactly when `n` is within the limits.
    #[test]
    fn password_length_counts_characters(c in any::<char>(), n in 0usize..=PASSWORD_MAX + 8) {
        let raw = c.to_string().repeat(n);
        prop_assert_eq!(Password::parse(&raw).is_ok(), (PASSWORD_MIN..=PASSWORD_MAX).contains(&n));
    }
}

// ---------------------------------------------------------------------------------------------
// Message text
// ---------------------------------------------------------------------------------------------

/// What the rules make of a text: refused if it holds any control character other than a tab
/// or line break (anywhere, even where trimming would remove it), otherwise trimmed and 1 to
/// `MESSAGE_MAX` characters.
fn expected_text(raw: &str) -> Option<&str> {
    if raw.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return None;
    }
    let trimmed = raw.trim();
    (1..=MESSAGE_MAX).contains(&trimmed.chars().count()).then_some(trimmed)
}

/// Anything a message may hold: mostly printable ASCII, some tabs and line breaks, otherwise
/// any code point, with a `¶` instead of a forbidden control.
fn text_char(n: u32) -> char {
    let c = match n % 16 {
        0..=9 => printable(n >> 4),
        10 => ['\n', '\r', '\t'][(n >> 4) as usize % 3],
        _ => code_point(n >> 4),
    };
    if c.is_control() && !matches!(c, '\n' | '\r' | '\t') { '¶' } else { c }
}

fn valid_text(len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    chars_of(len, text_char).prop_map(without_outer_whitespace)
}

fn text_input() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => tricky_string(40),
        4 => (text_whitespace(), valid_text(1..=40), text_whitespace())
            .prop_map(|(before, text, after)| format!("{before}{text}{after}")),
        1 => padded(valid_text(1..=40)),
        1 => whitespace(),
    ]
}

/// `MessageText::parse(raw)` agrees with the rules, and its error is `Invalid` on `text` only.
fn check_text(raw: &str) -> Result<(), TestCaseError> {
    match (MessageText::parse(raw), expected_text(raw)) {
        (Ok(text), Some(expected)) => {
            prop_assert_eq!(text.as_str(), expected);
            prop_assert!((1..=MESSAGE_MAX).contains(&text.as_str().chars().count()));
            prop_assert!(!text.as_str().chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')));
            prop_assert_eq!(MessageText::parse(text.as_str()).ok(), Some(text.clone()));
            prop_assert_eq!(text.clone().into_inner(), expected);
        }
        (Err(error), None) => {
            let fields = invalid_fields(&error)?;
            prop_assert_eq!(keys(fields), BTreeSet::from(["text"]));
        }
        (parsed, expected) => {
            return Err(TestCaseError::fail(format!("{raw:?}: parsed {parsed:?}, the rules say {expected:?}")));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(10_000))]

    /// A text parses exactly when the rules allow it, to the trimmed input, which keeps the
    /// limits and parses to itself; otherwise the error names the `text` field.
    #[test]
    fn message_text_follows_its_rules(raw in text_input()) {
        check_text(&raw)?;
    }
}

proptest! {
    #![proptest_config(config(3_000))]

    /// Texts built from the rules (tabs, line breaks, any script) always parse, trimmed.
    #[test]
    fn texts_built_from_the_rules_always_parse(
        text in valid_text(1..=200),
        before in text_whitespace(),
        after in text_whitespace(),
    ) {
        let parsed = MessageText::parse(&format!("{before}{text}{after}"));
        prop_assert_eq!(parsed.ok().map(MessageText::into_inner), Some(text));
    }
}

proptest! {
    #![proptest_config(config(1_000))]

    /// At the limit: `n` characters (any script) after trimming are accepted exactly when
    /// `n <= MESSAGE_MAX`; the padding around them does not count.
    #[test]
    fn texts_are_accepted_up_to_message_max_characters(
        chunk in chars_of(1..=20, text_char),
        n in MESSAGE_MAX - 8..=MESSAGE_MAX + 8,
        before in text_whitespace(),
        after in text_whitespace(),
    ) {
        let core = without_outer_whitespace(chunk.into_iter().cycle().take(n).collect());
        let raw = format!("{before}{core}{after}");
        prop_assert_eq!(raw.trim(), core.as_str());
        check_text(&raw)?;
        prop_assert_eq!(MessageText::parse(&raw).is_ok(), n <= MESSAGE_MAX);
    }
}

proptest! {
    #![proptest_config(config(5_000))]

    /// A control character other than tab or line break (NUL, ESC, DEL, NEL, ...) anywhere in
    /// a text, at its ends too, makes it refused with a `text` error.
    #[test]
    fn a_forbidden_control_anywhere_in_a_text_is_refused(
        raw in prop_oneof![tricky_string(40), valid_text(1..=40)],
        c in forbidden_control(),
        at in any::<usize>(),
    ) {
        let raw = insert_at(&raw, at, c);
        let error = MessageText::parse(&raw).err();
        prop_assert!(error.is_some(), "{:?} was accepted", raw);
        prop_assert_eq!(keys(invalid_fields(error.as_ref().unwrap())?), BTreeSet::from(["text"]));
    }
}

// ---------------------------------------------------------------------------------------------
// Client ids
// ---------------------------------------------------------------------------------------------

/// 1 to `CLIENT_ID_MAX` characters of `A-Z a-z 0-9 _ -`, taken as sent.
fn expected_client_id(raw: &str) -> bool {
    (1..=CLIENT_ID_MAX).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The client id alphabet.
const ID_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

fn id_char(n: u32) -> char {
    char::from(ID_CHARS[n as usize % ID_CHARS.len()])
}

/// `len` characters of the client id alphabet.
fn id_string(len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    chars_of(len, id_char).prop_map(String::from_iter)
}

fn client_id_input() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => id_string(0..=CLIENT_ID_MAX + 6),
        2 => tricky_string(20),
        1 => "[A-Za-z0-9_ .é-]{1,10}",
    ]
}

proptest! {
    #![proptest_config(config(10_000))]

    /// A client id parses exactly when the rules allow it, to the input unchanged.
    #[test]
    fn client_ids_follow_their_rules(raw in client_id_input()) {
        match ClientId::parse(&raw) {
            Ok(id) => {
                prop_assert!(expected_client_id(&raw), "{:?} was accepted", raw);
                prop_assert_eq!(id.as_str(), raw.as_str());
                prop_assert_eq!(ClientId::parse(id.as_str()).ok(), Some(id.clone()));
            }
            Err(reason) => {
                prop_assert!(!expected_client_id(&raw), "{:?} was refused", raw);
                prop_assert!(!reason.message.trim().is_empty());
            }
        }
    }
}

proptest! {
    #![proptest_config(config(5_000))]

    /// Ids from the alphabet parse up to `CLIENT_ID_MAX` characters and not beyond, and one
    /// character from outside the alphabet anywhere makes an id refused.
    #[test]
    fn client_ids_are_short_and_plain(
        id in id_string(1..=CLIENT_ID_MAX),
        extra in id_string(1..=30),
        bad in tricky_char().prop_filter("outside the alphabet", |&c| !expected_client_id(&c.to_string())),
        at in any::<usize>(),
    ) {
        prop_assert_eq!(ClientId::parse(&id).map(|id| id.as_str().to_owned()), Ok(id.clone()));
        let long = format!("{id}{extra}");
        prop_assert_eq!(ClientId::parse(&long).is_ok(), long.len() <= CLIENT_ID_MAX);
        let with_bad = insert_at(&id, at, bad);
        prop_assert!(ClientId::parse(&with_bad).is_err(), "{:?} was accepted", with_bad);
    }
}

// ---------------------------------------------------------------------------------------------
// New messages and new accounts
// ---------------------------------------------------------------------------------------------

/// `NewMessage::parse` succeeds exactly when both parts do, keeps them and the chat id, and
/// otherwise reports every bad part with that part's own reason.
fn check_new_message(chat_id: i64, client_id: &str, text: &str) -> Result<(), TestCaseError> {
    let id = ClientId::parse(client_id);
    let body = MessageText::parse(text);
    match NewMessage::parse(chat_id, client_id, text) {
        Ok(message) => {
            prop_assert_eq!(message.chat_id, chat_id);
            prop_assert_eq!(Some(&message.client_id), id.as_ref().ok());
            prop_assert_eq!(Some(&message.text), body.as_ref().ok());
        }
        Err(error) => {
            let mut expected = FieldErrors::new();
            if let Err(reason) = &id {
                expected.insert("client_id".into(), reason.clone());
            }
            if let Err(text_error) = &body {
                expected.extend(invalid_fields(text_error)?.clone());
            }
            prop_assert!(!expected.is_empty(), "refused although both parts parse: {:?}", error);
            prop_assert_eq!(invalid_fields(&error)?, &expected);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(8_000))]

    /// A new message is its parsed client id and text, or every problem of the two at once.
    #[test]
    fn a_new_message_is_both_parts_or_all_their_problems(
        chat_id in any::<i64>(),
        client_id in client_id_input(),
        text in text_input(),
    ) {
        check_new_message(chat_id, &client_id, &text)?;
    }
}

proptest! {
    #![proptest_config(config(5_000))]

    /// A registration is its three parsed fields, or every problem of the three at once, each
    /// with the field's own reason; its `Debug` does not depend on (so never shows) the password.
    #[test]
    fn a_new_account_is_all_fields_or_all_their_problems(
        email in email_input(),
        name in name_input(),
        password in password_input(),
    ) {
        let parsed = (Email::parse(&email), DisplayName::parse(&name), Password::parse(&password));
        match NewAccount::parse(&email, &name, &password) {
            Ok(account) => {
                prop_assert_eq!(Some(&account.email), parsed.0.as_ref().ok());
                prop_assert_eq!(Some(&account.name), parsed.1.as_ref().ok());
                prop_assert_eq!(Some(&account.password), parsed.2.as_ref().ok());
                let other = NewAccount::parse(&email, &name, "a different password").expect("same email and name");
                prop_assert_eq!(format!("{account:?}"), format!("{other:?}"));
            }
            Err(error) => {
                let mut expected = FieldErrors::new();
                for (field, result) in [
                    ("email", parsed.0.err()),
                    ("name", parsed.1.err()),
                    ("password", parsed.2.err()),
                ] {
                    if let Some(reason) = result {
                        expected.insert(field.into(), reason);
                    }
                }
                prop_assert!(!expected.is_empty(), "refused although all fields parse: {:?}", error);
                prop_assert_eq!(invalid_fields(&error)?, &expected);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Directory sort keys
// ---------------------------------------------------------------------------------------------

const SORT_KEYS: &[&str] = &["name", "-name", "created", "-created"];

proptest! {
    #![proptest_config(config(3_000))]

    /// `UserSort::parse` knows exactly the four documented keys (case and spaces matter), and
    /// agrees with the serde names in both directions.
    #[test]
    fn sort_keys_parse_exactly_and_match_their_serde_names(
        raw in prop_oneof![
            3 => prop::sample::select(SORT_KEYS).prop_map(str::to_owned),
            2 => (prop::sample::select(SORT_KEYS), whitespace(), whitespace(), any::<bool>())
                .prop_map(|(key, before, after, upper)| {
                    let key = if upper { key.to_uppercase() } else { key.to_owned() };
                    format!("{before}{key}{after}")
                }),
            2 => tricky_string(10),
        ],
    ) {
        let quoted = serde_json::to_string(&raw).expect("a string serializes");
        let from_serde = serde_json::from_str::<UserSort>(&quoted).ok();
        match UserSort::parse(&raw) {
            Some(sort) => {
                prop_assert!(SORT_KEYS.contains(&raw.as_str()), "{:?} was accepted", raw);
                prop_assert_eq!(serde_json::to_string(&sort).ok(), Some(quoted));
                prop_assert_eq!(from_serde, Some(sort));
            }
            None => {
                prop_assert!(!SORT_KEYS.contains(&raw.as_str()), "{:?} was refused", raw);
                prop_assert_eq!(from_serde, None);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// WebSocket client frames
// ---------------------------------------------------------------------------------------------

/// What serde should make of a JSON value: an object whose `type` names a variant and whose
/// fields of that variant are there with the right types (integers in `i64`, strings);
/// other fields are ignored.
fn expected_frame(value: &Value) -> Option<ClientFrame> {
    let object = value.as_object()?;
    let int = |key: &str| object.get(key)?.as_i64();
    let string = |key: &str| object.get(key)?.as_str().map(str::to_owned);
    match object.get("type")?.as_str()? {
        "send" => {
            Some(ClientFrame::Send { chat_id: int("chat_id")?, client_id: string("client_id")?, text: string("text")? })
        }
        "read" => Some(ClientFrame::Read { chat_id: int("chat_id")?, seq: int("seq")? }),
        "typing" => Some(ClientFrame::Typing { chat_id: int("chat_id")? }),
        "ping" => Some(ClientFrame::Ping),
        _ => None,
    }
}

/// Numbers and things that are almost numbers.
fn json_int() -> impl Strategy<Value = Value> {
    prop_oneof![
        12 => any::<i64>().prop_map(Value::from),
        1 => (i64::MAX as u64 + 1..=u64::MAX).prop_map(Value::from),
        1 => any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        1 => (-1000i64..1000).prop_map(|n| Value::from(n as f64)),
        1 => any::<i64>().prop_map(|n| Value::from(n.to_string())),
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::from),
    ]
}

/// Mostly strings from `strings`, sometimes another type.
fn json_string(strings: impl Strategy<Value = String>) -> impl Strategy<Value = Value> {
    prop_oneof![
                12 => strings.prop_map(Value::from),
        1 => json_int(),
        1 => Just(Value::Array(Vec::new())),
    ]
}

/// A JSON object shaped like a client frame: a known or unknown `type` (or a non-string one),
/// each frame field present or not, of the right type or not, and unrelated extra fields.
fn frame_object() -> impl Strategy<Value = Value> {
    let tag = prop_oneof![
        8 => prop::sample::select(vec!["send", "send", "send", "read", "typing", "ping"]).prop_map(Value::from),
        1 => prop::sample::select(vec!["Send", "PING", "pong", "", "ack", " send", "error"]).prop_map(Value::from),
        1 => json_int(),
    ];
    let extra_key = prop::sample::select(vec!["id", "Type", "chatId", "client-id", "TEXT", "extra"]);
    (
        prop::option::weighted(0.95, tag),
        prop::option::weighted(0.95, json_int()),
        prop::option::weighted(0.95, json_string(client_id_input())),
        prop::option::weighted(0.95, json_string(text_input())),
        prop::option::weighted(0.9, json_int()),
        prop::collection::btree_map(extra_key, json_string(tricky_string(5)), 0..=2),
    )
        .prop_map(|(tag, chat_id, client_id, text, seq, extra)| {
            let mut object = Map::new();
            for (key, value) in extra {
                object.insert(key.into(), value);
            }
            for (key, value) in
                [("type", tag), ("chat_id", chat_id), ("client_id", client_id), ("text", text), ("seq", seq)]
            {
                if let Some(value) = value {
                    object.insert(key.into(), value);
                }
            }
            Value::Object(object)
        })
}

/// Pieces of JSON frames, glued at random.
fn json_soup() -> impl Strategy<Value = String> {
    #[rustfmt::skip]
    const TOKENS: &[&str] = &[
        "{", "}", "[", "]", ":", ",", " ", "\"type\"", "\"send\"", "\"read\"", "\"typing\"", "\"ping\"",
        "\"chat_id\"", "\"client_id\"", "\"text\"", "\"seq\"", "1", "-9223372036854775808", "9223372036854775808",
        "1.5", "1e3", "null", "true", "\"a\"", "\"\\u0000\"", "\"\\ud800\"", "\"\\n\"", "\"c-1\"", "\"\u{202e}\"",
    ];
    prop::collection::vec(prop::sample::select(TOKENS), 0..=16).prop_map(|tokens| tokens.concat())
}

/// A frame-shaped object as text with one character inserted or removed.
fn mutated_frame() -> impl Strategy<Value = String> {
    (frame_object(), any::<usize>(), tricky_char(), any::<bool>()).prop_map(|(value, at, c, remove)| {
        let text = value.to_string();
        if remove && !text.is_empty() {
            let mut chars: Vec<char> = text.chars().collect();
            chars.remove(at % chars.len());
            chars.into_iter().collect()
        } else {
            insert_at(&text, at, c)
        }
    })
}

proptest! {
    #![proptest_config(config(8_000))]

    /// Any text is a frame or an error, never a panic; a frame survives a round trip through
    /// JSON; a `send` frame's fields make a new message exactly when they should.
    #[test]
    fn any_text_is_a_frame_or_an_error(
        text in prop_oneof![
            2 => tricky_string(60),
            3 => json_soup(),
            3 => mutated_frame(),
            2 => frame_object().prop_map(|value| value.to_string()),
        ],
    ) {
        match serde_json::from_str::<ClientFrame>(&text) {
            Ok(frame) => {
                let json = serde_json::to_string(&frame).expect("a frame serializes");
                prop_assert_eq!(serde_json::from_str::<ClientFrame>(&json).ok(), Some(frame.clone()), "{}", json);
                if let ClientFrame::Send { chat_id, client_id, text } = frame {
                    check_new_message(chat_id, &client_id, &text)?;
                }
            }
            Err(error) => prop_assert!(!error.to_string().is_empty()),
        }
    }

    /// A frame-shaped JSON value decodes (from the value and from its text alike) exactly as
    /// its shape says, and a decoded `send` goes through `NewMessage::parse` as it should.
    #[test]
    fn frame_shaped_values_decode_as_their_shape_says(value in frame_object()) {
        let expected = expected_frame(&value);
        let from_value = serde_json::from_value::<ClientFrame>(value.clone()).ok();
        prop_assert_eq!(&from_value, &expected, "{}", value);
        let from_text = serde_json::from_str::<ClientFrame>(&value.to_string()).ok();
        prop_assert_eq!(&from_text, &expected, "{}", value);
        if let Some(ClientFrame::Send { chat_id, client_id, text }) = from_text {
            check_new_message(chat_id, &client_id, &text)?;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Directory search (ssr)
// ---------------------------------------------------------------------------------------------

/// `directory::page` checks its query before it reads: `page` from 1, `per_page` 1 to
/// `PER_PAGE_MAX`, and `q` trimmed, blank meaning everyone, otherwise at most `EMAIL_MAX`
/// characters without controls, reporting every bad field at once. Valid queries find the
/// active users whose names start with `q`, case-insensitively, LIKE's wildcards (`%`, `_`,
/// `\`) taken literally. Seeded names are ASCII or lower-case, where SQLite's ASCII-only
/// `lower()` and LIKE agree with Unicode lower-casing.
#[cfg(feature = "ssr")]
mod directory_search {
    use std::sync::LazyLock;

    use chrono::{TimeZone, Utc};
    use domain::Db;
    use domain::directory::{self, DirectoryQuery};
    use domain::entity::user;
    use domain::model::PER_PAGE_MAX;
    use migration::MigratorTrait;
    use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectOptions, Database};

    use super::*;

    /// Names, and whether the account is active (inactive ones never show).
    const PEOPLE: &[(&str, bool)] = &[
        ("Ann", true),
        ("anna", true),
        ("Anne-Marie", true),
        ("Annette", false),
        ("Ann Lee", true),
        ("Bob", true),
        ("bob_smith", true),
        ("bobXsmith", true),
        ("100% real", true),
        ("100x real", true),
        ("a\\b", true),
        ("a_b", true),
        ("axb", true),
        ("%", true),
        ("_", true),
        ("zoë", true),
        ("Zed", true),
        ("O'Neil", true),
        ("Mr. Ann", true),
    ];

    struct Fixture {
        runtime: tokio::runtime::Runtime,
        db: Db,
        _dir: tempfile::TempDir,
    }

    static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
        let dir = tempfile::tempdir().expect("temporary folder");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("directory.db").display());
        let db = runtime.block_on(async {
            let mut options = ConnectOptions::new(url);
            options.sqlx_logging(false).max_connections(2);
            let db = Database::connect(options).await.expect("database");
            migration::Migrator::up(&db, None).await.expect("migrations");
            let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
            for (i, &(name, active)) in PEOPLE.iter().enumerate() {
                user::ActiveModel {
                    email: Set(format!("user{i}@example.com")),
                    name: Set(name.to_owned()),
                    password_hash: Set("not a hash".to_owned()),
                    is_admin: Set(false),
                    is_active: Set(active),
                    created_at: Set(start + chrono::Duration::minutes(i as i64)),
                    last_seen_at: Set(None),
                    ..Default::default()
                }
                .insert(&db)
                .await
                .expect("seed user");
            }
            db
        });
        Fixture { runtime, db, _dir: dir }
    });

    /// Searches: prefixes of the seeded names in any case and padding, wildcard soup, tricky
    /// text, lengths around the limit, or none.
    fn search() -> impl Strategy<Value = Option<String>> {
        const PIECES: &[&str] = &["%", "_", "\\", "a", "A", "b", "n", "N", "1", "0", " ", "x", "'", "-", "ë", "Ë"];
        let prefix = (prop::sample::select(PEOPLE), 0usize..=12, any::<bool>(), whitespace(), whitespace()).prop_map(
            |((name, _), len, upper, before, after)| {
                let prefix: String = name.chars().take(len).collect();
                let prefix = if upper { prefix.to_uppercase() } else { prefix };
                format!("{before}{prefix}{after}")
            },
        );
        prop::option::weighted(
            0.9,
            prop_oneof![
                4 => prefix,
                3 => prop::collection::vec(prop::sample::select(PIECES), 0..=6).prop_map(|pieces| pieces.concat()),
                2 => tricky_string(12),
                1 => (EMAIL_MAX - 4..=EMAIL_MAX + 4, whitespace(), whitespace())
                    .prop_map(|(n, before, after)| format!("{before}{}{after}", "a".repeat(n))),
            ],
        )
    }

    fn sort() -> impl Strategy<Value = UserSort> {
        prop::sample::select(vec![UserSort::NameAsc, UserSort::NameDesc, UserSort::CreatedAsc, UserSort::CreatedDesc])
    }

    proptest! {
        #![proptest_config(config(1_500))]

        /// The query is refused exactly on the documented rules, with every bad field; a
        /// valid one counts and pages exactly the matching active users, in order.
        #[test]
        fn directory_search_follows_its_rules(
            page in prop_oneof![Just(0u64), 1u64..=3, Just(u64::MAX), any::<u64>()],
            per_page in prop_oneof![Just(0u64), 1..=PER_PAGE_MAX, PER_PAGE_MAX + 1..=PER_PAGE_MAX + 50, Just(u64::MAX)],
            sort in sort(),
            q in search(),
        ) {
            let fixture = &*FIXTURE;
            let query = DirectoryQuery { page, per_page, sort, q: q.clone() };
            let result = fixture.runtime.block_on(directory::page(&fixture.db, query));

            let search = q.as_deref().map(str::trim).filter(|q| !q.is_empty());
            let mut bad = BTreeSet::new();
            if page == 0 {
                bad.insert("page");
            }
            if !(1..=PER_PAGE_MAX).contains(&per_page) {
                bad.insert("per_page");
            }
            if search.is_some_and(|q| q.chars().count() > EMAIL_MAX || q.chars().any(char::is_control)) {
                bad.insert("q");
            }

            match result {
                Err(error) => {
                    prop_assert!(!bad.is_empty(), "{:?} refused: {:?}", q, error);
                    prop_assert_eq!(keys(invalid_fields(&error)?), bad);
                }
                Ok(found) => {
                    prop_assert!(bad.is_empty(), "{:?} accepted, expected problems with {:?}", q, bad);
                    let pattern = search.map(str::to_lowercase).unwrap_or_default();
                    let matching: Vec<&str> = PEOPLE
                        .iter()
                        .filter(|(name, active)| *active && name.to_lowercase().starts_with(&pattern))
                        .map(|(name, _)| *name)
                        .collect();
                    prop_assert_eq!(found.total, matching.len() as u64, "{:?}", q);
                    prop_assert_eq!((found.page, found.per_page), (page, per_page));
                    let offset = (page - 1).saturating_mul(per_page);
                    let expected_len = (matching.len() as u64).saturating_sub(offset).min(per_page);
                    prop_assert_eq!(found.users.len() as u64, expected_len);
                    for person in &found.users {
                        prop_assert!(matching.contains(&person.name.as_str()), "{:?} found for {:?}", person.name, q);
                    }
                    let ordered = found.users.windows(2).all(|pair| {
                        let (a, b) = (&pair[0], &pair[1]);
                        let by_name = (a.name.to_lowercase(), a.id).cmp(&(b.name.to_lowercase(), b.id));
                        let by_created = (a.created_at, a.id).cmp(&(b.created_at, b.id));
                        match sort {
                            UserSort::NameAsc => by_name.is_lt(),
                            UserSort::NameDesc => by_name.is_gt(),
                            UserSort::CreatedAsc => by_created.is_lt(),
                            UserSort::CreatedDesc => by_created.is_gt(),
                        }
                    });
                    prop_assert!(ordered, "not in {:?} order: {:?}", sort, found.users);
                }
            }
        }
    }
}
