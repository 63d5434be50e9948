//! Small text helpers the adapters share: HTML bodies to plain text, channel names, hex.

use crate::model::Channel;

/// Lower-case hex of `bytes`.
pub(super) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

/// Bytes from hex (either case); `None` on an odd length or a non-hex character.
pub(super) fn unhex(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let bytes = text.as_bytes();
    if bytes.len() % 2 != 0 {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

/// A helpdesk's channel or source name (`email`, `Web Form`, `facebook feed post`,
/// `web_service`, ...) as a [`Channel`], by the words in it; `other` when nothing fits.
pub(super) fn channel_from_words(name: &str) -> Channel {
    let n = name.trim().to_lowercase().replace([' ', '-'], "_");
    let has = |words: &[&str]| words.iter().any(|w| n.contains(w));
    if n == "api" || has(&["web_service", "api_"]) {
        Channel::Api
    } else if has(&["mail"]) {
        Channel::Email
    } else if has(&["whatsapp"]) {
        Channel::Whatsapp
    } else if has(&["facebook", "messenger"]) {
        Channel::Facebook
    } else if has(&["instagram"]) {
        Channel::Instagram
    } else if has(&["twitter"]) || n == "x" {
        Channel::Twitter
    } else if has(&["telegram"]) {
        Channel::Telegram
    } else if has(&["sms"]) || n == "text" {
        Channel::Sms
    } else if has(&["phone", "voice", "call"]) {
        Channel::Phone
    } else if has(&["chat", "messaging", "widget", "sdk"]) {
        Channel::Chat
    } else if has(&["web"]) {
        Channel::Web
    } else {
        Channel::Other
    }
}

/// Plain text of an HTML fragment: tags dropped (block tags and `<br>` become line breaks),
/// `script`/`style` content dropped, character references decoded, blank runs collapsed.
pub(super) fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        push_decoded(&mut out, &rest[..lt]);
        rest = &rest[lt..];
        // As in HTML, `<` starts a tag only before a letter, `/`, `!` or `?`.
        let starts_tag = rest[1..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '/' | '!' | '?'));
        if !starts_tag {
            out.push('<');
            rest = &rest[1..];
            continue;
        }
        let Some(gt) = rest.find('>') else {
            // A lone `<` is text.
            push_decoded(&mut out, rest);
            rest = "";
            break;
        };
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        if tag.starts_with("!--") {
            if let Some(end) = (rest.find("-->")).filter(|_| !tag.ends_with("--")) {
                rest = &rest[end + 3..];
            }
            continue;
        }
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase();
        if !tag.starts_with('/') && (name == "script" || name == "style") {
            let close = format!("</{name}");
            rest = match find_ignore_case(rest, &close) {
                Some(i) => rest[i..].find('>').map_or("", |j| &rest[i + j + 1..]),
                None => "",
            };
            continue;
        }
        const BLOCKS: &[&str] = &[
            "br",
            "p",
            "div",
            "li",
            "tr",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "blockquote",
            "pre",
            "table",
            "ul",
            "ol",
            "hr",
        ];
        if BLOCKS.contains(&name.as_str()) {
            out.push('\n');
        }
    }
    push_decoded(&mut out, rest);
    tidy(&out)
}

fn find_ignore_case(haystack: &str, needle: &str) -> Option<usize> {
    let h = haystack.as_bytes();
    let n = needle.as_bytes();
    (0..h.len().saturating_sub(n.len()) + 1)
        .find(|&i| h.len() >= i + n.len() && h[i..i + n.len()].eq_ignore_ascii_case(n))
}

/// Appends `text` with character references decoded.
fn push_decoded(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let end = rest[1..]
            .char_indices()
            .take(12)
            .find(|&(_, c)| c == ';')
            .map(|(i, _)| i + 1);
        let decoded = end.and_then(|end| entity(&rest[1..end]).map(|c| (c, end)));
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
}

/// The character a reference names (`amp`, `#39`, `#x27`).
fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code).filter(|c| *c != '\0');
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "laquo" => '«',
        "raquo" => '»',
        "rsquo" => '’',
        "lsquo" => '‘',
        "rdquo" => '”',
        "ldquo" => '“',
        _ => return None,
    })
}

/// Collapses runs of blanks inside lines, trims lines and keeps at most one empty line in a row.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_lines = 0;
    for line in text.lines() {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.is_empty() {
            blank_lines += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_lines > 1 { "\n\n" } else { "\n" });
        }
        blank_lines = 0;
        out.push_str(&line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        assert_eq!(hex(&[0, 0xab, 0xff]), "00abff");
        assert_eq!(unhex("00ABff"), Some(vec![0, 0xab, 0xff]));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex("é1"), None);
    }

    #[test]
    fn html_becomes_plain_text() {
        assert_eq!(
            html_to_text(
                "This is a simple Webhook Test.<div><br></div><div>\n<img style=\"max-width:100%;\" src=\"/x\"><br>\n</div>"
            ),
            "This is a simple Webhook Test."
        );
        assert_eq!(
            html_to_text("<p>Hei &amp; h&aring;&#101;<br/>linje&nbsp;2</p><script>x<y</script>ok"),
            "Hei & h&aring;e\nlinje 2\nok"
        );
        assert_eq!(html_to_text("a < b &#x1F600; <!-- c --> d"), "a < b 😀 d");
        assert_eq!(
            html_to_text("<p>one</p><p></p><p></p><p>two</p>"),
            "one\n\ntwo"
        );
        assert_eq!(html_to_text("unclosed <b"), "unclosed <b");
        assert_eq!(html_to_text("&#0; &#xZZ; &"), "&#0; &#xZZ; &");
    }

    #[test]
    fn channels_by_their_words() {
        for (name, channel) in [
            ("email", Channel::Email),
            ("Mail", Channel::Email),
            ("Web Form", Channel::Web),
            ("web", Channel::Web),
            ("web_service", Channel::Api),
            ("api", Channel::Api),
            ("phone", Channel::Phone),
            ("Phone call (incoming)", Channel::Phone),
            ("facebook feed post", Channel::Facebook),
            ("twitter direct-message", Channel::Twitter),
            ("telegram personal-message", Channel::Telegram),
            ("whatsapp message", Channel::Whatsapp),
            ("sms", Channel::Sms),
            ("chat", Channel::Chat),
            ("native_messaging", Channel::Chat),
            ("note", Channel::Other),
            ("", Channel::Other),
        ] {
            assert_eq!(channel_from_words(name), channel, "{name}");
        }
    }
}
