//! The anti-automation check of the public tip form: a small arithmetic question in Chinese
//! and a token that carries no answer, only an HMAC over it, with an expiry and a nonce (the
//! nonce is spent when a tip uses it). Works without JavaScript and without third parties.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A question such as 三加五等于几？
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Question {
    pub a: u8,
    pub b: u8,
    pub op: Op,
}

/// The arithmetic operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Sub,
    Mul,
}

const DIGITS: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];

impl Question {
    /// A question from three random bytes: operands 1–9, a difference never negative.
    pub fn from_random(r: [u8; 3]) -> Self {
        let a = r[0] % 9 + 1;
        let b = r[1] % 9 + 1;
        match r[2] % 3 {
            0 => Self { a, b, op: Op::Add },
            1 => Self {
                a: a.max(b),
                b: a.min(b),
                op: Op::Sub,
            },
            _ => Self { a, b, op: Op::Mul },
        }
    }

    /// The expected answer.
    pub fn answer(self) -> i64 {
        let (a, b) = (i64::from(self.a), i64::from(self.b));
        match self.op {
            Op::Add => a + b,
            Op::Sub => a - b,
            Op::Mul => a * b,
        }
    }

    /// The question in Chinese.
    pub fn text(self) -> String {
        let op = match self.op {
            Op::Add => "加",
            Op::Sub => "减",
            Op::Mul => "乘以",
        };
        format!(
            "{}{}{}等于几？（请填写数字）",
            DIGITS[usize::from(self.a)],
            op,
            DIGITS[usize::from(self.b)]
        )
    }
}

/// Reads an answer written in digits (also full-width) or in Chinese numerals up to 九十九.
pub fn parse_answer(input: &str) -> Option<i64> {
    let s: String = input
        .trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            c => c,
        })
        .collect();
    if let Ok(n) = s.parse::<i64>() {
        return Some(n);
    }
    let digit = |c: char| {
        DIGITS
            .iter()
            .position(|d| d.starts_with(c))
            .map(|p| p as i64)
    };
    let chars: Vec<char> = s.chars().collect();
    match chars.as_slice() {
        [d] if *d == '十' => Some(10),
        [d] => digit(*d),
        ['十', u] => Some(10 + digit(*u)?),
        [t, '十'] => Some(digit(*t)? * 10),
        [t, '十', u] => Some(digit(*t)? * 10 + digit(*u)?),
        _ => None,
    }
}

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 (RFC 2104).
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    m.update(message);
    m.finalize().into_bytes().into()
}

/// The MAC of a question's token, before it is finished.
fn mac_of(key: &[u8], expires: i64, nonce: &str, answer: i64) -> HmacSha256 {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    m.update(format!("tip-challenge|{expires}|{nonce}|{answer}").as_bytes());
    m
}

/// The token of a question: `expires.nonce.mac` (expiry in Unix seconds, nonce hex).
pub fn token(key: &[u8], expires: i64, nonce: &str, answer: i64) -> String {
    let mac = mac_of(key, expires, nonce, answer).finalize().into_bytes();
    format!("{expires}.{nonce}.{}", hex::encode(mac))
}

/// Why a challenge is refused (all answer 422 on `challenge_token` or `challenge_answer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeError {
    /// Not a token this service issued.
    Malformed,
    /// Past its expiry.
    Expired,
    /// The answer does not match.
    WrongAnswer,
}

/// A checked challenge: its nonce (to spend) and expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passed {
    pub nonce: String,
    pub expires: i64,
}

/// Checks `answer` against `token` at `now` (Unix seconds).
pub fn check(key: &[u8], token: &str, answer: &str, now: i64) -> Result<Passed, ChallengeError> {
    let mut parts = token.trim().split('.');
    let (Some(exp), Some(nonce), Some(given), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ChallengeError::Malformed);
    };
    let expires: i64 = exp.parse().map_err(|_| ChallengeError::Malformed)?;
    if nonce.len() != 32 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) || given.len() != 64 {
        return Err(ChallengeError::Malformed);
    }
    if expires < now {
        return Err(ChallengeError::Expired);
    }
    let answer = parse_answer(answer).ok_or(ChallengeError::WrongAnswer)?;
    let given = hex::decode(given).map_err(|_| ChallengeError::Malformed)?;
    // Compared in constant time, so timing says nothing about the right MAC.
    mac_of(key, expires, nonce, answer)
        .verify_slice(&given)
        .map_err(|_| ChallengeError::WrongAnswer)?;
    Ok(Passed {
        nonce: nonce.to_string(),
        expires,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn questions_are_small_and_never_negative() {
        for r in 0..=255u8 {
            let q = Question::from_random([r, r.wrapping_mul(7), r.wrapping_add(1)]);
            assert!((0..=81).contains(&q.answer()), "{q:?}");
            assert!(q.text().ends_with("（请填写数字）"));
        }
        let q = Question {
            a: 3,
            b: 5,
            op: Op::Add,
        };
        assert_eq!(q.text(), "三加五等于几？（请填写数字）");
    }

    #[test]
    fn answers_in_digits_or_numerals() {
        assert_eq!(parse_answer(" 8 "), Some(8));
        assert_eq!(parse_answer("１２"), Some(12));
        assert_eq!(parse_answer("八"), Some(8));
        assert_eq!(parse_answer("十二"), Some(12));
        assert_eq!(parse_answer("二十"), Some(20));
        assert_eq!(parse_answer("四十五"), Some(45));
        assert_eq!(parse_answer("abc"), None);
    }

    #[test]
    fn tokens_check_answer_expiry_and_key() {
        let key = [7u8; 32];
        let nonce = "0123456789abcdef0123456789abcdef";
        let t = token(&key, 1000, nonce, 8);
        assert_eq!(check(&key, &t, "8", 999).unwrap().nonce, nonce);
        assert_eq!(check(&key, &t, "八", 1000).unwrap().expires, 1000);
        assert_eq!(check(&key, &t, "9", 999), Err(ChallengeError::WrongAnswer));
        assert_eq!(check(&key, &t, "8", 1001), Err(ChallengeError::Expired));
        assert_eq!(
            check(&[8u8; 32], &t, "8", 999),
            Err(ChallengeError::WrongAnswer)
        );
        assert_eq!(check(&key, "x.y", "8", 999), Err(ChallengeError::Malformed));
        let forged = t.replacen("1000", "9999", 1);
        assert_eq!(
            check(&key, &forged, "8", 999),
            Err(ChallengeError::WrongAnswer)
        );
    }
}
