//! What the reference service accepts from a client and what it says back: bounded ids, no card
//! numbers in, none echoed out, and no value echoed at length.
//!
//! A **digit** here is any numeric character of any script (`char::is_numeric`: ASCII, fullwidth
//! `４`, Arabic-Indic `٤`, …), so a card number written in other digits is still a card number.

/// The longest id the service keeps (merchant, offer, user, card handle, token, transaction,
/// terminal id, idempotency key): the driver's are under 40 bytes.
pub const MAX_ID_BYTES: usize = 128;

/// The longest free text kept (a merchant's name).
pub const MAX_NAME_BYTES: usize = 256;

/// Digits in a value from which it could be a card number (card numbers have 12 to 19).
pub const CARD_DIGITS: usize = 12;

/// How much of a value an error message shows before cutting it.
pub const SHOWN_CHARS: usize = 64;

/// How long an error message can be in all.
pub const MAX_MESSAGE_CHARS: usize = 2_000;

/// How many digits (of any script) `s` holds.
pub fn digits(s: &str) -> usize {
    s.chars().filter(|c| c.is_numeric()).count()
}

/// Whether `s` could hold a card number: 12 or more digits, whatever separates them.
pub fn could_be_card_number(s: &str) -> bool {
    digits(s) >= CARD_DIGITS
}

/// An id as a client sent it: 1 to `MAX_ID_BYTES` bytes, no control characters.
pub fn id<'a>(what: &str, s: &'a str) -> Result<&'a str, String> {
    if s.is_empty() {
        return Err(format!("{what}: must not be empty"));
    }
    if s.len() > MAX_ID_BYTES {
        return Err(format!("{what}: {} bytes; ids are limited to {MAX_ID_BYTES} bytes", s.len()));
    }
    if s.chars().any(char::is_control) {
        return Err(format!("{what}: control characters are not allowed in an id"));
    }
    Ok(s)
}

/// A card handle: an id that cannot be a card number.
pub fn card_handle<'a>(what: &str, s: &'a str) -> Result<&'a str, String> {
    if could_be_card_number(s) {
        return Err(format!(
            "{what}: that looks like a card number ({CARD_DIGITS} or more digits): send the card's opaque handle"
        ));
    }
    id(what, s)
}

/// A value for an error message: cut to `SHOWN_CHARS`, and not shown at all if it could be a
/// card number.
pub fn shown(s: &str) -> String {
    if could_be_card_number(s) {
        return format!("(a value with {CARD_DIGITS} or more digits, not shown)");
    }
    cut(s, SHOWN_CHARS)
}

fn cut(s: &str, chars: usize) -> String {
    match s.char_indices().nth(chars) {
        Some((at, _)) => format!("{}… ({} bytes in all)", &s[..at], s.len()),
        None => s.to_string(),
    }
}

/// The last line of defence for anything the service says: every run of digits (of any script,
/// separated at most by single spaces, dashes or dots) holding `CARD_DIGITS` or more is masked,
/// and the whole is cut to `MAX_MESSAGE_CHARS`.
pub fn scrub(message: &str) -> String {
    let chars: Vec<char> = message.chars().collect();
    let mut out = String::with_capacity(message.len().min(MAX_MESSAGE_CHARS * 4));
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_numeric() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // A run: digits, with single separators between them.
        let (mut j, mut n, mut end) = (i, 0, i);
        while j < chars.len() {
            if chars[j].is_numeric() {
                n += 1;
                j += 1;
                end = j;
            } else if matches!(chars[j], ' ' | '-' | '.') && chars.get(j + 1).is_some_and(|c| c.is_numeric()) {
                j += 1;
            } else {
                break;
            }
        }
        if n >= CARD_DIGITS {
            out.push_str("[digits hidden]");
        } else {
            out.extend(&chars[i..end]);
        }
        i = end;
    }
    cut(&out, MAX_MESSAGE_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_number_in_any_digits_is_recognised() {
        assert!(could_be_card_number("4111111111111111"));
        assert!(could_be_card_number("4111 1111 1111 1111"));
        // Fullwidth and Arabic-Indic digits.
        assert!(could_be_card_number("４１１１１１１１１１１１１１１１"));
        assert!(could_be_card_number("٤١١١١١١١١١١١١١١١"));
        assert!(!could_be_card_number("card_aaaabcdefghijk"));
        assert!(!could_be_card_number("t12345.67"));
    }

    #[test]
    fn scrub_masks_digit_runs_of_card_length_and_keeps_short_numbers() {
        let s = scrub("unknown offer `4111-1111-1111-1111` at 12:30, t17.3");
        assert!(!s.contains("4111"), "{s}");
        assert!(s.contains("[digits hidden]") && s.contains("12:30") && s.contains("t17.3"), "{s}");
        assert!(!scrub("x ４１１１１１１１１１１１１１１１ y").contains('４'));
    }

    #[test]
    fn shown_cuts_long_values_and_hides_card_like_ones() {
        let long = "a".repeat(1_000_000);
        let s = shown(&long);
        assert!(s.len() < 200 && s.ends_with("(1000000 bytes in all)"), "{}", s.len());
        assert!(!shown("4111111111111111").contains("4111"));
        assert_eq!(shown("cafe"), "cafe");
    }

    #[test]
    fn ids_are_bounded_and_card_handles_refuse_card_numbers() {
        assert!(id("user", &"u".repeat(MAX_ID_BYTES)).is_ok());
        assert!(id("user", &"u".repeat(MAX_ID_BYTES + 1)).is_err());
        assert!(id("user", "").is_err());
        assert!(id("user", "a\nb").is_err());
        assert!(card_handle("card", "card_abc").is_ok());
        let e = card_handle("card", "4111111111111111").unwrap_err();
        assert!(!e.contains("4111"), "{e}");
    }
}
