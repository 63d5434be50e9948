//! Text normalisation for the FAQ matcher, script by script.
//!
//! A question becomes lower-case words separated by single spaces:
//!
//! - Unicode NFKC first, so full-width letters, ligatures and compatibility forms become plain
//!   letters and digits.
//! - Case folding (`ß` → `ss`, final sigma → sigma).
//! - Latin accents are dropped (`café` → `cafe`), except `å`: Norwegian and Danish `æ`, `ø` and
//!   `å` stay distinct letters (`møte` is not `mote`).
//! - Arabic: diacritics (harakat, shadda, sukun, superscript alef) and tatweel are removed; the
//!   hamza forms of alef (`أ إ آ ٱ`) become `ا`, alef maqsura `ى` becomes `ي`, taa marbuta `ة`
//!   becomes `ه`.
//! - Numbers: every digit (ASCII, Arabic-Indic, full-width) counts; a run of digits becomes one
//!   token `#N`, N being its number of digits (at most 4), so "2 weeks" and "3 weeks" read alike.
//! - Apostrophes join (`don't` → `dont`); every other character that is not a letter or a digit
//!   (punctuation, symbols, emoji) separates words.
//!
//! Chinese and other scripts written without spaces are split later, by [`tokens`]: each
//! character is a token of its own.

use unicode_normalization::char::decompose_canonical;
use unicode_normalization::UnicodeNormalization;

/// Characters of a question that are read; the rest of a longer text is ignored.
pub const MAX_CHARS: usize = 2_000;

/// The normalised form of `text`: lower-case words separated by single spaces.
pub fn normalise(text: &str) -> String {
    let text = bounded(text);
    let mut out = String::with_capacity(text.len() + 8);
    let mut digits = 0usize;
    let mut space = false;
    let push = |out: &mut String, c: char, space: &mut bool| {
        if *space && !out.is_empty() {
            out.push(' ');
        }
        *space = false;
        out.push(c);
    };
    for c in text.nfkc() {
        let c = arabic_digit(c).unwrap_or(c);
        if c.is_ascii_digit() {
            if digits == 0 {
                space = true;
            }
            digits += 1;
            continue;
        }
        if digits > 0 {
            push(&mut out, '#', &mut space);
            out.push(char::from(b'0' + digits.min(4) as u8));
            digits = 0;
            space = true;
        }
        match c {
            '\'' | '\u{2019}' | '\u{02BC}' | '`' => continue,
            '\u{0640}' => continue, // tatweel
            c if is_dropped_mark(c) => continue,
            _ => {}
        }
        if c.is_ascii() {
            if c.is_ascii_alphabetic() {
                push(&mut out, c.to_ascii_lowercase(), &mut space);
            } else {
                space = true;
            }
            continue;
        }
        if !(c.is_alphanumeric() || is_word_mark(c)) {
            space = true;
            continue;
        }
        for l in c.to_lowercase() {
            match l {
                'ß' => {
                    push(&mut out, 's', &mut space);
                    out.push('s');
                }
                'ς' => push(&mut out, 'σ', &mut space),
                'أ' | 'إ' | 'آ' | 'ٱ' => push(&mut out, 'ا', &mut space),
                'ى' => push(&mut out, 'ي', &mut space),
                'ة' => push(&mut out, 'ه', &mut space),
                'å' => push(&mut out, 'å', &mut space),
                l if is_accented_latin(l) => {
                    decompose_canonical(l, |d| {
                        if !is_dropped_mark(d) {
                            push(&mut out, d, &mut space);
                        }
                    });
                }
                l => push(&mut out, l, &mut space),
            }
        }
    }
    if digits > 0 {
        push(&mut out, '#', &mut space);
        out.push(char::from(b'0' + digits.min(4) as u8));
    }
    out
}

/// At most [`MAX_CHARS`] characters of `text`.
pub(crate) fn bounded(text: &str) -> &str {
    match text.char_indices().nth(MAX_CHARS) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

fn arabic_digit(c: char) -> Option<char> {
    match c {
        '\u{0660}'..='\u{0669}' => Some(char::from(b'0' + (c as u32 - 0x0660) as u8)),
        '\u{06F0}'..='\u{06F9}' => Some(char::from(b'0' + (c as u32 - 0x06F0) as u8)),
        _ => None,
    }
}

/// Marks that carry no meaning for matching: Latin combining accents, Arabic diacritics.
fn is_dropped_mark(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{064B}'..='\u{065F}'
        | '\u{0670}'
        | '\u{06D6}'..='\u{06ED}'
    )
}

/// Other combining marks belong to their word (vowel signs of Indic scripts, for example).
fn is_word_mark(c: char) -> bool {
    unicode_normalization::char::is_combining_mark(c)
}

fn is_accented_latin(c: char) -> bool {
    matches!(c, '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}')
}

/// Whether `c` belongs to a script written without spaces between words.
pub fn unspaced(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF      // Thai, Lao
        | 0x1000..=0x109F    // Myanmar
        | 0x1780..=0x17FF    // Khmer
        | 0x3040..=0x30FF    // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0x20000..=0x3134F  // CJK extensions B-G
    )
}

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A word of a script written with spaces.
    Word,
    /// One character of a script written without spaces (Chinese, Japanese, Thai...).
    Char,
    /// A number (`#N`).
    Number,
}

/// One token of a normalised text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    /// Its text.
    pub text: &'a str,
    /// What it is.
    pub kind: TokenKind,
}

/// The tokens of a normalised text, in order: words, numbers, and single characters of
/// unspaced scripts.
pub fn tokens(norm: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    for word in norm.split(' ').filter(|w| !w.is_empty()) {
        if word.starts_with('#') {
            out.push(Token {
                text: word,
                kind: TokenKind::Number,
            });
            continue;
        }
        if word.is_ascii() || !word.chars().any(unspaced) {
            out.push(Token {
                text: word,
                kind: TokenKind::Word,
            });
            continue;
        }
        let mut start = None;
        for (i, c) in word.char_indices() {
            if unspaced(c) {
                if let Some(s) = start.take() {
                    out.push(Token {
                        text: &word[s..i],
                        kind: TokenKind::Word,
                    });
                }
                out.push(Token {
                    text: &word[i..i + c.len_utf8()],
                    kind: TokenKind::Char,
                });
            } else if start.is_none() {
                start = Some(i);
            }
        }
        if let Some(s) = start {
            out.push(Token {
                text: &word[s..],
                kind: TokenKind::Word,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_table() {
        let cases = [
            ("Hello,  World!", "hello world"),
            ("Café Crème", "cafe creme"),
            ("ＲＥＦＵＮＤ", "refund"),
            ("Kortet mitt er STJÅLET", "kortet mitt er stjålet"),
            ("Ærlig øl på Møte", "ærlig øl på møte"),
            ("Straße", "strasse"),
            ("don't", "dont"),
            ("I’m here", "im here"),
            ("مُعَطَّل", "معطل"),
            ("أريد إلغاء", "اريد الغاء"),
            ("فاتورة", "فاتوره"),
            ("مـــعطل", "معطل"),
            ("على مستوى", "علي مستوي"),
            ("٥٠٠ error", "#3 error"),
            ("after 2 weeks", "after #1 weeks"),
            ("covid19", "covid #2"),
            ("１２３", "#3"),
            ("密码忘了！", "密码忘了"),
            ("🙂🙂 help 🙂", "help"),
            ("", ""),
            ("   ", ""),
        ];
        for (input, want) in cases {
            assert_eq!(normalise(input), want, "{input:?}");
        }
    }

    #[test]
    fn long_text_is_bounded() {
        let long = "word ".repeat(100_000);
        let n = normalise(&long);
        assert!(n.len() <= MAX_CHARS, "{}", n.len());
    }

    #[test]
    fn tokens_split_unspaced_scripts() {
        let n = normalise("我的订单在哪里 order 12");
        let t: Vec<_> = tokens(&n).iter().map(|t| (t.text, t.kind)).collect();
        assert_eq!(t[0], ("我", TokenKind::Char));
        assert_eq!(t.len(), 9);
        assert_eq!(t[7], ("order", TokenKind::Word));
        assert_eq!(t[8], ("#2", TokenKind::Number));
        let n = normalise("我要refund");
        let t: Vec<_> = tokens(&n).iter().map(|t| t.text).collect();
        assert_eq!(t, ["我", "要", "refund"]);
    }
}
