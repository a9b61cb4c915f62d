//! Message text as text, with web links made clickable. Never rendered as HTML.

use leptos::prelude::*;

/// A piece of message text.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Link(&'a str),
}

/// Splits text into plain runs and http(s) links (a link ends at whitespace; trailing
/// punctuation stays outside it).
fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = find_link(rest) {
        if start > 0 {
            out.push(Piece::Text(&rest[..start]));
        }
        let tail = &rest[start..];
        let mut end = tail.find(char::is_whitespace).unwrap_or(tail.len());
        while end > 0 && tail[..end].ends_with(['.', ',', '!', '?', ')', ';', ':', '"', '\'']) {
            end -= 1;
        }
        out.push(Piece::Link(&tail[..end]));
        rest = &tail[end..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    out
}

fn find_link(text: &str) -> Option<usize> {
    let candidates = [text.find("https://"), text.find("http://")];
    candidates.into_iter().flatten().min()
}

/// Shows message text with clickable links (`rel="noopener noreferrer"`, new tab).
#[component]
pub fn RichText(text: String) -> impl IntoView {
    pieces(&text)
        .into_iter()
        .map(|piece| match piece {
            Piece::Text(t) => t.to_owned().into_any(),
            Piece::Link(url) => view! {
                <a href=url.to_owned() target="_blank" rel="noopener noreferrer">{url.to_owned()}</a>
            }
            .into_any(),
        })
        .collect_view()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_found_and_punctuation_stays_outside() {
        assert_eq!(
            pieces("see https://example.com/a?b=1, ok"),
            [Piece::Text("see "), Piece::Link("https://example.com/a?b=1"), Piece::Text(", ok")]
        );
    }

    #[test]
    fn markup_is_just_text() {
        assert_eq!(pieces("<b>hi</b>"), [Piece::Text("<b>hi</b>")]);
    }
}
