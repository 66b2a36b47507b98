//! Receipt codes: 80 random bits in Crockford's base32 (no I, L, O, U), grouped as
//! `JB-XXXX-XXXX-XXXX-XXXX`. Only their SHA-256 is stored.

use sha2::{Digest, Sha256};

/// Crockford's alphabet: 32 symbols, none easily mistaken for another.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Random bytes a code is made of (80 bits).
pub const RANDOM_BYTES: usize = 10;

/// The code of 10 random bytes.
pub fn format(random: &[u8; RANDOM_BYTES]) -> String {
    let mut bits: u128 = 0;
    for b in random {
        bits = (bits << 8) | u128::from(*b);
    }
    let symbols: Vec<u8> = (0..16)
        .rev()
        .map(|i| ALPHABET[((bits >> (i * 5)) & 31) as usize])
        .collect();
    let groups: Vec<&str> = symbols
        .chunks(4)
        .map(|c| std::str::from_utf8(c).expect("ASCII"))
        .collect();
    format!("JB-{}", groups.join("-"))
}

/// The canonical form of a code as a person typed it (any case, spaces or dashes, O for 0,
/// I or L for 1), or `None` when it cannot be one.
pub fn normalize(input: &str) -> Option<String> {
    let upper = input.trim().to_ascii_uppercase();
    let body = upper.strip_prefix("JB").unwrap_or(&upper);
    let mut symbols = Vec::with_capacity(16);
    for c in body.chars() {
        let c = match c {
            '-' | ' ' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) {
            return None;
        }
        symbols.push(c as u8);
    }
    if symbols.len() != 16 {
        return None;
    }
    let groups: Vec<&str> = symbols
        .chunks(4)
        .map(|c| std::str::from_utf8(c).expect("ASCII"))
        .collect();
    Some(format!("JB-{}", groups.join("-")))
}

/// What the database keeps of a canonical code.
pub fn hash(canonical: &str) -> String {
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_forgive_typos() {
        let code = format(&[0xff; 10]);
        assert_eq!(code, "JB-ZZZZ-ZZZZ-ZZZZ-ZZZZ");
        let code = format(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(code.len(), 22);
        assert_eq!(normalize(&code).as_deref(), Some(code.as_str()));
        let sloppy = code.to_lowercase().replace('-', " ").replace('0', "o");
        assert_eq!(normalize(&sloppy).as_deref(), Some(code.as_str()));
        assert_eq!(normalize("JB-1234"), None);
        assert_eq!(normalize("JB-UUUU-UUUU-UUUU-UUUU"), None);
        assert_ne!(hash(&code), code);
    }
}
