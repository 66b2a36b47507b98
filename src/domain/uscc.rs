//! 统一社会信用代码 (GB 32100-2015): 18 characters with a mod-31 check character.

/// The 31 characters of the code alphabet, in value order (no I, O, S, V, Z).
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights of positions 1–17 for the check character.
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

fn value_of(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// The check character for the first 17 characters, or `None` if one is outside the alphabet.
pub fn check_char(first17: &str) -> Option<char> {
    let bytes = first17.as_bytes();
    if bytes.len() != 17 {
        return None;
    }
    let mut sum = 0;
    for (&b, w) in bytes.iter().zip(WEIGHTS) {
        sum += value_of(b)? * w;
    }
    let check = (31 - sum % 31) % 31;
    Some(ALPHABET[check as usize] as char)
}

/// Checks a code in its stored form: 18 upper-case characters with a correct check character.
pub fn validate_uscc(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("empty");
    }
    // Count chars, not bytes, so a multi-byte character reads as one wrong character.
    if s.chars().count() != 18 {
        return Err("must be 18 characters");
    }
    if !s.bytes().all(|b| value_of(b).is_some()) {
        return Err("only 0-9 and A-Z except I, O, S, V, Z are allowed");
    }
    let (body, check) = s.split_at(17);
    match check_char(body) {
        Some(c) if check.starts_with(c) => Ok(()),
        _ => Err("wrong check character"),
    }
}

/// Trims surrounding whitespace, upper-cases ASCII letters (inner spaces stay) and validates.
pub fn normalize_uscc(input: &str) -> Result<String, &'static str> {
    // Pasted codes often carry a trailing newline; an inner space is a typo and stays an error.
    let upper = input.trim().to_ascii_uppercase();
    validate_uscc(&upper)?;
    Ok(upper)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Copy of /work/shared/reference/uscc-samples.txt.
    const SAMPLES: &str = "\
# Unified social credit codes (统一社会信用代码, GB 32100) for tests. Tab-separated: verdict, code, reason.
# Valid ones are synthetic with the Changning prefix 91310105, except three published real codes that check the algorithm.
valid\t91350100M000100Y43\t
valid\t9144030071526726XG\t
valid\t91330100716105852F\t
valid\t91310105MA1FL0A19R\t
valid\t91310105MA1G2B3C1B\t
valid\t91310105MA1H5D7E6U\t
valid\t91310105MA1J8K2L94\t
valid\t91310105MA1K3M4N7M\t
valid\t91310105MA1L6P8Q27\t
valid\t91310105MA1M9R1T53\t
valid\t91310105MA1N2U5W6R\t
valid\t91310105MA1P4X7Y6P\t
valid\t91310105MA1Q7A3B71\t
valid\t91310105MA1R1C6D6K\t
valid\t91310105MA7B2C3D9L\t
invalid\t91310105MA1FL0A190\twrong check character
invalid\t91310105MA1FL0A1IR\tthe letter I is not allowed
invalid\t91310105MA1FL0A19\t17 characters
invalid\t91310105MA1FL0A19R0\t19 characters
invalid\t91310105ma1fl0a19r\tlower case is not accepted as stored form
invalid\t91310105 A1FL0A19R\tspace inside
invalid\t\tempty
";

    #[test]
    fn every_reference_sample() {
        let mut seen = (0, 0);
        for line in SAMPLES.lines().filter(|l| !l.starts_with('#')) {
            let mut cols = line.split('\t');
            let verdict = cols.next().unwrap();
            let code = cols.next().unwrap();
            let result = validate_uscc(code);
            match verdict {
                "valid" => {
                    assert_eq!(result, Ok(()), "{code} should be valid");
                    seen.0 += 1;
                }
                "invalid" => {
                    assert!(result.is_err(), "{code:?} should be invalid");
                    seen.1 += 1;
                }
                other => panic!("bad verdict {other}"),
            }
        }
        assert_eq!(seen, (15, 7));
    }

    #[test]
    fn reasons_match_the_fault() {
        assert_eq!(validate_uscc(""), Err("empty"));
        assert_eq!(
            validate_uscc("91310105MA1FL0A190"),
            Err("wrong check character")
        );
        assert_eq!(
            validate_uscc("91310105MA1FL0A19"),
            Err("must be 18 characters")
        );
        assert!(
            validate_uscc("91310105MA1FL0A1IR")
                .unwrap_err()
                .contains("I, O")
        );
        assert!(validate_uscc("91310105 A1FL0A19R").is_err());
        assert_eq!(
            validate_uscc("91310105MA1FL0A1字"),
            Err("must be 18 characters")
        );
    }

    #[test]
    fn check_char_computes_the_last_character() {
        assert_eq!(check_char("91310105MA1FL0A19"), Some('R'));
        assert_eq!(check_char("9144030071526726X"), Some('G'));
        assert_eq!(check_char("91310105MA1FL0A1I"), None);
        assert_eq!(check_char("short"), None);
    }

    #[test]
    fn normalize_upper_cases_only() {
        assert_eq!(
            normalize_uscc("91310105ma1fl0a19r").as_deref(),
            Ok("91310105MA1FL0A19R")
        );
        assert_eq!(
            normalize_uscc(" 91310105MA1FL0A19R\n").as_deref(),
            Ok("91310105MA1FL0A19R")
        );
        assert!(
            validate_uscc(" 91310105MA1FL0A19R").is_err(),
            "stored form is exact"
        );
        assert!(normalize_uscc("91310105 a1fl0a19r").is_err());
        assert!(normalize_uscc("91310105ma1fl0a190").is_err());
    }

    #[test]
    fn every_single_character_change_is_caught() {
        let good = "91310105MA1FL0A19R";
        for pos in 0..18 {
            for &c in ALPHABET {
                let mut b = good.as_bytes().to_vec();
                if b[pos] == c {
                    continue;
                }
                b[pos] = c;
                let s = String::from_utf8(b).unwrap();
                assert!(validate_uscc(&s).is_err(), "{s} passed");
            }
        }
    }
}
