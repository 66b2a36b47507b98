//! Field formats: mobile and fixed-line numbers, money in 万元, 挂牌督办 文号, e-mail.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Normalises a mainland mobile number (`1[3-9]` + 9 digits, optional `+86`/`86` prefix) to 11 digits.
pub fn normalize_mobile(input: &str) -> Result<String, &'static str> {
    // People write "139 1234 5678" or "139-1234-5678"; the stored form is the bare digits.
    let cleaned: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let s = cleaned.as_str();
    let digits = s
        .strip_prefix("+86")
        // A bare "86" is only a prefix when 11 digits follow; "86…" is never a mobile number itself.
        .or_else(|| s.strip_prefix("86").filter(|rest| rest.len() == 11))
        .unwrap_or(s);
    let b = digits.as_bytes();
    if b.len() == 11
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
        && b.iter().all(u8::is_ascii_digit)
    {
        Ok(digits.to_string())
    } else {
        Err("must be a mainland mobile number")
    }
}

/// Normalises a contact number: a mobile number, or a fixed line written `0AA(A)-NNNNNNN(N)`.
pub fn normalize_phone(input: &str) -> Result<String, &'static str> {
    if let Ok(m) = normalize_mobile(input) {
        return Ok(m);
    }
    const WRONG: &str = "must be a mobile number or a fixed line like 021-62345678 or 62345678";
    let s = input.trim();
    // Written as people write them: 021-62345678, (021)62345678, 021 6234 5678, 02162345678,
    // or a Shanghai number alone, 62345678 — kept as area-local.
    if !s
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '-' | ' ' | '(' | ')'))
    {
        return Err(WRONG);
    }
    let local_ok =
        |l: &str| (7..=8).contains(&l.len()) && !l.starts_with('0') && !l.starts_with('1');
    // The area code is what stands in brackets, or before the first dash.
    let split = match s.strip_prefix('(').and_then(|r| r.split_once(')')) {
        Some(bracketed) => Some(bracketed),
        None if s.contains(')') || s.contains('(') => return Err(WRONG),
        None => s.split_once('-'),
    };
    if let Some((area, local)) = split {
        let area = area.trim();
        let local: String = local.chars().filter(char::is_ascii_digit).collect();
        let ok = (3..=4).contains(&area.len())
            && area.starts_with('0')
            && area.bytes().all(|b| b.is_ascii_digit())
            && local_ok(&local);
        return if ok {
            Ok(format!("{area}-{local}"))
        } else {
            Err(WRONG)
        };
    }
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    if digits.len() == 8 && local_ok(&digits) {
        // A Shanghai fixed line without its area code.
        return Ok(format!("021-{digits}"));
    }
    // Area codes of three digits are 010 and 02X; every other one has four (03XX–09XX), so an
    // undivided number splits one way only.
    if digits.starts_with('0') {
        let area_len = if digits.starts_with("01") || digits.starts_with("02") {
            3
        } else {
            4
        };
        if digits.len() > area_len {
            let (area, local) = digits.split_at(area_len);
            if local_ok(local) {
                return Ok(format!("{area}-{local}"));
            }
        }
    }
    Err(WRONG)
}

/// Whether `text` holds a control character other than tab, line feed and carriage return
/// (a NUL cannot be stored in PostgreSQL's `text`; the others hide or forge content).
pub fn has_control_characters(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// Whether `text` is one line (a title, a place, a name: no line break).
pub fn is_one_line(text: &str) -> bool {
    !text.contains(['\n', '\r'])
}

/// The first `n` characters of `text`, with an ellipsis when cut.
pub fn shorten(text: &str, n: usize) -> String {
    let mut out: String = text.chars().take(n).collect();
    if text.chars().nth(n).is_some() {
        out.push('…');
    }
    out
}

/// Money text as the service keeps it: a valid amount in its shortest form (`00012.50` →
/// `12.5`), so that exports and sums read one way; text that does not parse is left for the
/// validation to name.
pub fn tidy_money(text: &mut Option<String>) {
    if let Some(t) = text.as_mut()
        && let Ok(w) = Wan::parse(t.trim())
    {
        *t = w.to_string();
    }
}

/// Money in 万元 held exactly as a count of 0.0001 万元 (one yuan); serialised as a decimal string.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Wan(i64);

impl Wan {
    /// Zero 万元.
    pub const ZERO: Wan = Wan(0);
    /// Units (yuan) per 万元.
    pub const UNITS_PER_WAN: i64 = 10_000;
    /// The largest accepted amount, 1e9 万元, in units.
    pub const MAX_UNITS: i64 = 1_000_000_000 * Self::UNITS_PER_WAN;

    /// From a count of 0.0001 万元 units; `None` when negative or above the maximum.
    pub fn from_units(units: i64) -> Option<Wan> {
        (0..=Self::MAX_UNITS).contains(&units).then_some(Wan(units))
    }

    /// The amount as a count of 0.0001 万元 (yuan).
    pub fn units(self) -> i64 {
        self.0
    }

    /// Sum of two amounts, `None` above the maximum.
    pub fn checked_add(self, other: Wan) -> Option<Wan> {
        self.0.checked_add(other.0).and_then(Wan::from_units)
    }

    /// Parses a plain non-negative decimal with at most four decimals, e.g. `12.5`.
    pub fn parse(s: &str) -> Result<Wan, &'static str> {
        if s.is_empty() {
            return Err("empty");
        }
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (s, None),
        };
        if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must be a non-negative decimal like 12.5");
        }
        let frac = frac.unwrap_or("");
        if s.contains('.') && frac.is_empty() {
            return Err("must be a non-negative decimal like 12.5");
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must be a non-negative decimal like 12.5");
        }
        if frac.len() > 4 {
            return Err("at most 4 decimals (1 yuan)");
        }
        let int = int.trim_start_matches('0');
        // More than 10 integer digits is above 1e9 before any arithmetic can overflow.
        if int.len() > 10 {
            return Err("must not exceed 1000000000");
        }
        let whole: i64 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| "must be a non-negative decimal")?
        };
        let mut fraction: i64 = 0;
        for (i, b) in frac.bytes().enumerate() {
            fraction += i64::from(b - b'0') * 10_i64.pow(3 - i as u32);
        }
        Wan::from_units(whole * Self::UNITS_PER_WAN + fraction).ok_or("must not exceed 1000000000")
    }
}

impl FromStr for Wan {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Wan::parse(s)
    }
}

impl fmt::Display for Wan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / Self::UNITS_PER_WAN;
        let frac = self.0 % Self::UNITS_PER_WAN;
        if frac == 0 {
            write!(f, "{whole}")
        } else {
            let digits = format!("{frac:04}");
            write!(f, "{whole}.{}", digits.trim_end_matches('0'))
        }
    }
}

impl Serialize for Wan {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Wan {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Only strings: a JSON number has already been through a float in many clients.
        let s = String::deserialize(deserializer)?;
        Wan::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A 挂牌督办 document number `X字〔YYYY〕第N号`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DocNo {
    /// The issuing prefix before 字, e.g. `长安委督`.
    pub prefix: String,
    /// The four-digit year inside 〔〕.
    pub year: i32,
    /// The serial number after 第.
    pub number: u32,
}

impl fmt::Display for DocNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}字〔{}〕第{}号", self.prefix, self.year, self.number)
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

/// Parses a 文号 such as `长安委督字〔2023〕第5号`; only the brackets 〔〕 are accepted.
pub fn parse_doc_no(s: &str) -> Result<DocNo, &'static str> {
    const FORMAT: &str = "must look like 长安委督字〔2023〕第5号";
    let (head, rest) = s.split_once('〔').ok_or(FORMAT)?;
    let prefix = head.strip_suffix('字').ok_or(FORMAT)?;
    if prefix.is_empty() || !prefix.chars().all(|c| is_cjk(c) || c.is_ascii_alphabetic()) {
        return Err("the prefix before 字 must be Chinese characters or letters");
    }
    let (year, rest) = rest.split_once('〕').ok_or(FORMAT)?;
    if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) || year.starts_with('0') {
        return Err("the year must have four digits");
    }
    let number = rest
        .strip_prefix('第')
        .and_then(|r| r.strip_suffix('号'))
        .ok_or(FORMAT)?;
    if number.is_empty()
        || number.len() > 9
        || !number.bytes().all(|b| b.is_ascii_digit())
        || number.starts_with('0')
    {
        return Err("the number must be a positive integer without leading zeros");
    }
    Ok(DocNo {
        prefix: prefix.to_string(),
        year: year.parse().map_err(|_| FORMAT)?,
        number: number.parse().map_err(|_| FORMAT)?,
    })
}

/// A plain syntax check of an e-mail address (`local@domain.tld`, no quoting, no IP literals).
pub fn validate_email(s: &str) -> Result<(), &'static str> {
    const BAD: &str = "must be an e-mail address";
    if s.len() > 254 {
        return Err("too long");
    }
    let (local, domain) = s.rsplit_once('@').ok_or(BAD)?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    if !local_ok {
        return Err(BAD);
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let labels_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    let tld_ok = labels
        .last()
        .is_some_and(|t| t.len() >= 2 && t.chars().all(|c| c.is_ascii_alphabetic()));
    if labels_ok && tld_ok {
        Ok(())
    } else {
        Err(BAD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobile_numbers() {
        for (input, want) in [
            ("13812345678", "13812345678"),
            ("+8613812345678", "13812345678"),
            ("8619912345678", "19912345678"),
            (" 15012345678 ", "15012345678"),
            ("138-1234-5678", "13812345678"),
            ("+86 138 1234 5678", "13812345678"),
        ] {
            assert_eq!(normalize_mobile(input).as_deref(), Ok(want), "{input}");
        }
        for bad in [
            "",
            "12812345678",
            "1381234567",
            "138123456789",
            "+85213812345678",
            "86138123456",
            "1381234567a",
            "+86 1381234567",
        ] {
            assert!(normalize_mobile(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn contact_numbers() {
        assert_eq!(
            normalize_phone("021-62345678").as_deref(),
            Ok("021-62345678")
        );
        assert_eq!(
            normalize_phone("0571-8765432").as_deref(),
            Ok("0571-8765432")
        );
        assert_eq!(
            normalize_phone("+8613912345678").as_deref(),
            Ok("13912345678")
        );
        // As people write them: kept as area-local.
        for (written, kept) in [
            ("02162345678", "021-62345678"),
            ("021 6234 5678", "021-62345678"),
            ("(021)62345678", "021-62345678"),
            ("62345678", "021-62345678"),
            ("057187654321", "0571-87654321"),
            ("010-6234 5678", "010-62345678"),
            ("(021)6234-5678", "021-62345678"),
            ("(0571) 8765 4321", "0571-87654321"),
        ] {
            assert_eq!(normalize_phone(written).as_deref(), Ok(kept), "{written}");
        }
        for bad in [
            "21-62345678",
            "6234567",
            "12345678",
            "021-6234567a",
            "021-0234567",
            "021-123456",
            "021-623456789",
        ] {
            assert!(normalize_phone(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn money_is_kept_in_its_shortest_form() {
        let tidy = |t: &str| {
            let mut v = Some(t.to_string());
            tidy_money(&mut v);
            v.unwrap()
        };
        assert_eq!(tidy("00012.50"), "12.5");
        assert_eq!(tidy(" 20.00 "), "20");
        assert_eq!(tidy("0.0001"), "0.0001");
        assert_eq!(tidy("1e3"), "1e3", "left for the validation to name");
    }

    #[test]
    fn shorten_cuts_at_characters() {
        assert_eq!(shorten("仓库消防通道堵塞", 4), "仓库消防…");
        assert_eq!(shorten("仓库", 4), "仓库");
        assert_eq!(shorten("仓库消防", 4), "仓库消防");
    }

    #[test]
    fn money_parses_exactly() {
        for (input, units, shown) in [
            ("12.5", 125_000, "12.5"),
            ("0.0001", 1, "0.0001"),
            ("0", 0, "0"),
            ("12.5000", 125_000, "12.5"),
            ("007.10", 71_000, "7.1"),
            ("1000000000", Wan::MAX_UNITS, "1000000000"),
            ("999999999.9999", Wan::MAX_UNITS - 1, "999999999.9999"),
        ] {
            let w = Wan::parse(input).unwrap();
            assert_eq!(w.units(), units, "{input}");
            assert_eq!(w.to_string(), shown, "{input}");
        }
    }

    #[test]
    fn money_rejects_bad_forms() {
        for bad in [
            "",
            "-1",
            "+1",
            "1.00001",
            "1e3",
            "1E3",
            "1,000",
            " 1",
            "1 ",
            ".5",
            "5.",
            "1.2.3",
            "NaN",
            "inf",
            "1000000000.0001",
            "99999999999",
            "12345678901234567890",
        ] {
            assert!(Wan::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn money_round_trips_through_display() {
        for units in (0..200_000).step_by(7) {
            let w = Wan::from_units(units).unwrap();
            assert_eq!(Wan::parse(&w.to_string()), Ok(w));
        }
    }

    #[test]
    fn money_serde_is_a_string() {
        let w: Wan = serde_json::from_str("\"3.25\"").unwrap();
        assert_eq!(w.units(), 32_500);
        assert_eq!(serde_json::to_string(&w).unwrap(), "\"3.25\"");
        assert!(serde_json::from_str::<Wan>("3.25").is_err());
        assert!(serde_json::from_str::<Wan>("\"-3\"").is_err());
    }

    #[test]
    fn money_bounds_and_sums() {
        assert_eq!(Wan::from_units(-1), None);
        assert_eq!(Wan::from_units(Wan::MAX_UNITS + 1), None);
        let a = Wan::parse("0.5").unwrap();
        assert_eq!(
            a.checked_add(a).map(|w| w.to_string()).as_deref(),
            Some("1")
        );
        let max = Wan::from_units(Wan::MAX_UNITS).unwrap();
        assert_eq!(max.checked_add(Wan::parse("0.0001").unwrap()), None);
        assert_eq!(Wan::ZERO.to_string(), "0");
    }

    #[test]
    fn doc_numbers() {
        let d = parse_doc_no("长安委督字〔2023〕第5号").unwrap();
        assert_eq!(
            d,
            DocNo {
                prefix: "长安委督".into(),
                year: 2023,
                number: 5
            }
        );
        assert_eq!(d.to_string(), "长安委督字〔2023〕第5号");
        assert_eq!(parse_doc_no("CN安字〔2024〕第120号").unwrap().number, 120);
        assert_eq!(parse_doc_no("字字〔2024〕第1号").unwrap().prefix, "字");
        for bad in [
            "",
            "字〔2023〕第5号",
            "长安委督〔2023〕第5号",
            "长安委督字[2023]第5号",
            "长安委督字（2023）第5号",
            "长安委督字【2023】第5号",
            "长安委督字〔23〕第5号",
            "长安委督字〔20231〕第5号",
            "长安委督字〔0999〕第5号",
            "长安委督字〔2023〕第05号",
            "长安委督字〔2023〕第0号",
            "长安委督字〔2023〕第号",
            "长安委督字〔2023〕5号",
            "长安委督字〔2023〕第5",
            "长安委督字〔2023〕第5号 ",
            "长安 委督字〔2023〕第5号",
            "长安1字〔2023〕第5号",
            "长安委督字〔2023〕第五号",
        ] {
            assert!(parse_doc_no(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn emails() {
        for good in [
            "a@b.cn",
            "li.si+yh@changning.gov.cn",
            "x_y-z@mail-1.example.com",
        ] {
            assert_eq!(validate_email(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "a",
            "a@",
            "@b.cn",
            "a@b",
            "a@b.c",
            "a@.cn",
            "a@b..cn",
            "a..b@c.cn",
            ".a@c.cn",
            "a.@c.cn",
            "a b@c.cn",
            "a@-b.cn",
            "a@b-.cn",
            "a@b.c1",
            "张@b.cn",
            "a@b@c.cn",
        ] {
            assert!(validate_email(bad).is_err(), "{bad} accepted");
        }
    }
}
