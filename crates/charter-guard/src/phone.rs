//! Telephone numbers, validated against the numbering plans of
//! libphonenumber (Google's metadata, through `rlibphonenumber`): a
//! candidate is a phone number when the plan of its country says the
//! number can exist, not merely when it has the right count of digits.

use rlibphonenumber::{PHONE_NUMBER_UTIL, Region};

/// Whether `text` is a valid number (international when it starts with
/// `+`, North American otherwise).
fn valid(text: &str) -> bool {
    // The library is not known to panic on such input; a panic would
    // still be a bug of Charter's, so it is contained and means "no".
    std::panic::catch_unwind(|| {
        PHONE_NUMBER_UTIL
            .parse(text, Some(Region::US))
            .is_ok_and(|number| PHONE_NUMBER_UTIL.is_valid_number(&number))
    })
    .unwrap_or(false)
}

/// The length of the valid international number (`+CC …`) at the start of
/// `candidate`: the whole candidate, or the longest prefix ending at a group
/// of digits (a number followed by another figure, `+44 7911 123456 2`),
/// with 8 to 15 digits as E.164 allows.
pub(crate) fn international(candidate: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(candidate).ok()?;
    let mut end = text.len();
    loop {
        let prefix = &text[..end];
        let digits = prefix.bytes().filter(u8::is_ascii_digit).count();
        if digits < 8 {
            return None;
        }
        if digits <= 15 && valid(prefix) {
            return Some(end);
        }
        // Drop the last group and the separators before it.
        let cut = prefix.trim_end_matches(|c: char| c.is_ascii_digit() || c == ')');
        let cut = cut.trim_end_matches([' ', '.', '-', '(']);
        if cut.len() <= 1 || cut.len() == end {
            return None;
        }
        end = cut.len();
    }
}

/// Whether ten digits are a valid North American number.
pub(crate) fn north_american(digits: &[u8]) -> bool {
    if digits.len() != 10 {
        return false;
    }
    let text: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
    valid(&format!("+1{text}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_their_plan() {
        assert_eq!(international(b"+44 7911 123456"), Some(15));
        assert_eq!(international(b"+14155550142"), Some(12));
        assert_eq!(international(b"+33 6 12 34 56 78"), Some(17));
        assert_eq!(international(b"+44 7911 123456 2"), Some(15), "a figure after the number");
        assert_eq!(international(b"+999 1234 5678"), None, "no such country code");
        assert_eq!(international(b"+1 234"), None);
        assert!(north_american(&[4, 1, 5, 8, 6, 7, 5, 3, 0, 9]));
        assert!(!north_american(&[1, 1, 5, 8, 6, 7, 5, 3, 0, 9]), "no area code starts with 1");
    }
}
