//! Checks beyond the pattern: checksums, issuer ranges, number plans and
//! structure. Each takes the candidate's bytes and answers whether it is
//! what its pattern suggests.

use base64::Engine as _;

/// The digits of `text`, skipping the separators a person types (spaces,
/// dashes, dots, parentheses); `None` if anything else is in it.
pub(crate) fn digits(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    for &byte in text {
        match byte {
            b'0'..=b'9' => out.push(byte - b'0'),
            b' ' | b'-' | b'.' | b'(' | b')' => {}
            _ => return None,
        }
    }
    Some(out)
}

/// The Luhn checksum (ISO/IEC 7812-1) over decimal digits.
pub(crate) fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, &d) in digits.iter().rev().enumerate() {
        let d = u32::from(d);
        sum += if i % 2 == 1 {
            let doubled = d * 2;
            if doubled > 9 { doubled - 9 } else { doubled }
        } else {
            d
        };
    }
    sum.is_multiple_of(10)
}

/// Whether `digits` is a payment card number: a known issuer's prefix and
/// length (Visa, Mastercard, American Express, Discover, JCB, Diners Club,
/// UnionPay, Maestro) and a valid Luhn check digit.
pub(crate) fn payment_card(digits: &[u8]) -> bool {
    let len = digits.len();
    if !(12..=19).contains(&len) || !luhn(digits) {
        return false;
    }
    let prefix = |n: usize| digits[..n].iter().fold(0u32, |acc, &d| acc * 10 + u32::from(d));
    let (p1, p2, p3, p4, p6) = (prefix(1), prefix(2), prefix(3), prefix(4), prefix(6));
    match len {
        _ if p1 == 4 => matches!(len, 13 | 16 | 19),
        16 if (51..=55).contains(&p2) || (2221..=2720).contains(&p4) => true,
        15 if p2 == 34 || p2 == 37 => true,
        16..=19
            if p4 == 6011 || p2 == 65 || (644..=649).contains(&p3) || (622_126..=622_925).contains(&p6) =>
        {
            true
        }
        16..=19 if (3528..=3589).contains(&p4) => true,
        14..=19 if p2 == 36 || (300..=305).contains(&p3) || p2 == 38 || p2 == 39 => true,
        16..=19 if p2 == 62 => true,
        12..=19 if matches!(p4, 5018 | 5020 | 5038 | 5893 | 6304 | 6759 | 6761 | 6762 | 6763) => true,
        _ => false,
    }
}

/// IBAN lengths by country (ISO 13616 registry, SWIFT release 2024).
const IBAN_LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24),
    (b"AE", 23),
    (b"AL", 28),
    (b"AT", 20),
    (b"AZ", 28),
    (b"BA", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"BH", 22),
    (b"BI", 27),
    (b"BR", 29),
    (b"BY", 28),
    (b"CH", 21),
    (b"CR", 22),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DJ", 27),
    (b"DK", 18),
    (b"DO", 28),
    (b"EE", 20),
    (b"EG", 29),
    (b"ES", 24),
    (b"FI", 18),
    (b"FK", 18),
    (b"FO", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GE", 22),
    (b"GI", 23),
    (b"GL", 18),
    (b"GR", 27),
    (b"GT", 28),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IL", 23),
    (b"IQ", 23),
    (b"IS", 26),
    (b"IT", 27),
    (b"JO", 30),
    (b"KW", 30),
    (b"KZ", 20),
    (b"LB", 28),
    (b"LC", 32),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"LY", 25),
    (b"MC", 27),
    (b"MD", 24),
    (b"ME", 22),
    (b"MK", 19),
    (b"MN", 20),
    (b"MR", 27),
    (b"MT", 31),
    (b"MU", 30),
    (b"NI", 28),
    (b"NL", 18),
    (b"NO", 15),
    (b"OM", 23),
    (b"PK", 24),
    (b"PL", 28),
    (b"PS", 29),
    (b"PT", 25),
    (b"QA", 29),
    (b"RO", 24),
    (b"RS", 22),
    (b"RU", 33),
    (b"SA", 24),
    (b"SC", 31),
    (b"SD", 18),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"SO", 23),
    (b"ST", 25),
    (b"SV", 28),
    (b"TL", 23),
    (b"TN", 24),
    (b"TR", 26),
    (b"UA", 29),
    (b"VA", 22),
    (b"VG", 24),
    (b"XK", 20),
    (b"YE", 30),
];

/// The IBAN at the start of `text` (spaces between groups allowed), as the
/// number of bytes it covers: the country's length of letters and digits,
/// with a valid ISO 7064 mod-97-10 check.
pub(crate) fn iban(text: &[u8]) -> Option<usize> {
    let country: &[u8; 2] = text.get(..2)?.try_into().ok()?;
    let length = IBAN_LENGTHS.iter().find(|(code, _)| *code == country)?.1;
    let (mut taken, mut end) = (Vec::with_capacity(length), 0);
    for (i, &byte) in text.iter().enumerate() {
        if taken.len() == length {
            break;
        }
        match byte {
            b'A'..=b'Z' | b'0'..=b'9' => {
                taken.push(byte);
                end = i + 1;
            }
            // One space between groups of four, as IBANs are printed.
            b' ' if taken.len() % 4 == 0 && text.get(i + 1).is_some_and(u8::is_ascii_alphanumeric) => {}
            _ => break,
        }
    }
    if taken.len() != length || !taken[2..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    // Rearranged: the BBAN, then the country and check digits.
    let mut remainder = 0u32;
    for &byte in taken[4..].iter().chain(&taken[..4]) {
        remainder = match byte {
            b'0'..=b'9' => (remainder * 10 + u32::from(byte - b'0')) % 97,
            _ => (remainder * 100 + u32::from(byte - b'A' + 10)) % 97,
        };
    }
    // Whatever follows must not continue the value.
    let glued = text.get(end).is_some_and(u8::is_ascii_alphanumeric);
    (remainder == 1 && !glued).then_some(end)
}

/// A US Social Security number's digits (9): area 001-899 but not 666,
/// group 01-99, serial 0001-9999, and not one of the numbers the SSA
/// voided after they were published (078-05-1120, 219-09-9999) or a run of
/// one digit or 123-45-6789.
pub(crate) fn us_ssn(digits: &[u8]) -> bool {
    if digits.len() != 9 {
        return false;
    }
    let number =
        |range: std::ops::Range<usize>| digits[range].iter().fold(0u32, |a, &d| a * 10 + u32::from(d));
    let (area, group, serial) = (number(0..3), number(3..5), number(5..9));
    let all = number(0..9);
    area != 0
        && area != 666
        && area < 900
        && group != 0
        && serial != 0
        && !matches!(all, 78_051_120 | 219_099_999 | 123_456_789)
        && digits.iter().any(|&d| d != digits[0])
}

/// A UK National Insurance number without its spaces: two prefix letters
/// (not D, F, I, Q, U, V; the second not O; not BG, GB, KN, NK, NT, TN,
/// ZZ), six digits, a suffix A-D.
pub(crate) fn uk_nino(compact: &[u8]) -> bool {
    let [a, b, rest @ ..] = compact else { return false };
    let [d1, d2, d3, d4, d5, d6, suffix] = rest else { return false };
    let forbidden = |c: u8| matches!(c, b'D' | b'F' | b'I' | b'Q' | b'U' | b'V');
    a.is_ascii_uppercase()
        && b.is_ascii_uppercase()
        && !forbidden(*a)
        && !forbidden(*b)
        && *b != b'O'
        && !matches!(&[*a, *b], b"BG" | b"GB" | b"KN" | b"NK" | b"NT" | b"TN" | b"ZZ")
        && [d1, d2, d3, d4, d5, d6].iter().all(|d| d.is_ascii_digit())
        && matches!(suffix, b'A'..=b'D')
}

/// An IPv4 address in dotted-quad form, each octet 0-255 without a leading
/// zero, and not 0.0.0.0.
pub(crate) fn ipv4(text: &[u8]) -> bool {
    let mut octets = 0;
    for part in text.split(|&b| b == b'.') {
        octets += 1;
        if part.is_empty() || part.len() > 3 || (part.len() > 1 && part[0] == b'0') {
            return false;
        }
        if !part.iter().all(u8::is_ascii_digit) {
            return false;
        }
        let value = part.iter().fold(0u32, |a, &d| a * 10 + u32::from(d - b'0'));
        if value > 255 {
            return false;
        }
    }
    octets == 4 && text != b"0.0.0.0"
}

/// An IPv6 address (as the standard library parses it), written with `::`
/// or all eight groups, so clock times (`12:34:56`) and MAC addresses are
/// not taken for one.
pub(crate) fn ipv6(text: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(text) else { return false };
    let colons = text.bytes().filter(|&b| b == b':').count();
    (text.contains("::") || colons == 7)
        && text.len() >= 3
        && text != "::"
        && text.parse::<std::net::Ipv6Addr>().is_ok()
}

/// Whether a JWT's first part is base64url of a JSON object naming `alg`.
pub(crate) fn jwt(text: &[u8]) -> bool {
    let Some(header) = text.split(|&b| b == b'.').next() else { return false };
    let Ok(decoded) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header) else {
        return false;
    };
    serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&decoded)
        .is_ok_and(|object| object.get("alg").is_some_and(serde_json::Value::is_string))
}

/// Shannon entropy of `text` in bits per byte.
pub(crate) fn entropy(text: &[u8]) -> f64 {
    if text.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &byte in text {
        counts[usize::from(byte)] += 1;
    }
    let n = text.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Whether a date (year, month, day) exists and is a plausible birth date
/// (years 1900-2099).
pub(crate) fn date(year: u32, month: u32, day: u32) -> bool {
    let (Ok(year), Ok(month), Ok(day)) = (i32::try_from(year), u8::try_from(month), u8::try_from(day)) else {
        return false;
    };
    (1900..=2099).contains(&year)
        && time::Month::try_from(month)
            .is_ok_and(|month| time::Date::from_calendar_date(year, month, day).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards_pass_luhn_and_an_issuer() {
        for good in [
            "4111111111111111",
            "5500000000000004",
            "340000000000009",
            "6011000000000004",
            "2223000048400011",
        ] {
            assert!(payment_card(&digits(good.as_bytes()).unwrap()), "{good}");
        }
        // Luhn fails; no issuer (epoch milliseconds that pass Luhn); too short.
        for bad in ["4111111111111112", "1600000000009", "41111111111"] {
            assert!(!payment_card(&digits(bad.as_bytes()).unwrap()), "{bad}");
        }
    }

    #[test]
    fn ibans_check_their_country_length_and_mod_97() {
        assert_eq!(iban(b"DE89370400440532013000 EUR"), Some(22));
        assert_eq!(iban(b"GB82 WEST 1234 5698 7654 32, thanks"), Some(27));
        assert_eq!(iban(b"DE89370400440532013001"), None);
        assert_eq!(iban(b"DE893704004405320130001"), None, "glued to one more digit");
        assert_eq!(iban(b"XX89370400440532013000"), None);
    }

    #[test]
    fn ssn_areas_groups_and_serials() {
        let ssn = |s: &str| us_ssn(&digits(s.as_bytes()).unwrap());
        assert!(ssn("123-45-6788") && ssn("899-01-0001"));
        for bad in [
            "000-12-3456",
            "666-12-3456",
            "900-12-3456",
            "123-00-4567",
            "123-45-0000",
            "078-05-1120",
            "111-11-1111",
        ] {
            assert!(!ssn(bad), "{bad}");
        }
    }

    #[test]
    fn ninos_and_addresses() {
        assert!(
            uk_nino(b"AB123456C")
                && !uk_nino(b"BG123456C")
                && !uk_nino(b"AO123456C")
                && !uk_nino(b"AB123456E")
        );
        assert!(ipv4(b"192.168.1.20") && !ipv4(b"256.1.1.1") && !ipv4(b"01.2.3.4") && !ipv4(b"1.2.3"));
        assert!(
            ipv6(b"2001:db8::1")
                && ipv6(b"fe80:0:0:0:0:0:0:1")
                && !ipv6(b"12:34:56")
                && !ipv6(b"aa:bb:cc:dd:ee:ff")
        );
    }

    #[test]
    fn jwt_headers_decode_and_entropy_counts_bits() {
        assert!(jwt(b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"));
        assert!(!jwt(b"eyJmb28iOjF9.eyJzdWIiOiIxIn0.c2ln"), "no alg");
        assert!((entropy(b"abcd") - 2.0).abs() < 1e-9 && entropy(b"aaaa") == 0.0);
        assert!(date(2000, 2, 29) && !date(1900, 2, 29) && !date(1999, 13, 1));
    }
}
