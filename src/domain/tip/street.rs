//! Routing a tip to a street by its address: the street whose name or road/area keyword is
//! the longest match in the text; a tie between streets, or no match, leaves it unrouted.

/// A street and the names that place an address in it.
#[derive(Debug, Clone)]
pub struct StreetNames {
    pub code: String,
    pub name: String,
    pub keywords: Vec<String>,
}

/// The street `text` names, when exactly one matches best.
pub fn route_by_address(text: &str, streets: &[StreetNames]) -> Option<String> {
    let mut best: Option<(&str, usize)> = None;
    let mut tie = false;
    for s in streets {
        let short = s
            .name
            .strip_suffix("街道")
            .or_else(|| s.name.strip_suffix("镇"))
            .unwrap_or(&s.name);
        let longest = std::iter::once(s.name.as_str())
            .chain(std::iter::once(short))
            .chain(s.keywords.iter().map(String::as_str))
            .filter(|k| k.chars().count() >= 2 && text.contains(*k))
            .map(|k| k.chars().count())
            .max();
        let Some(len) = longest else { continue };
        match best {
            Some((code, l)) if l == len && code != s.code => tie = true,
            Some((_, l)) if l >= len => {}
            _ => {
                best = Some((&s.code, len));
                tie = false;
            }
        }
    }
    best.filter(|_| !tie).map(|(c, _)| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn streets() -> Vec<StreetNames> {
        let s = |code: &str, name: &str, kw: &[&str]| StreetNames {
            code: code.into(),
            name: name.into(),
            keywords: kw.iter().map(|k| k.to_string()).collect(),
        };
        vec![
            s("HYL", "华阳路街道", &["华阳路", "安化路"]),
            s("JSL", "江苏路街道", &["江苏路", "愚园路"]),
            s("BXJ", "北新泾街道", &["北新泾"]),
            s("XJZ", "新泾镇", &["新泾镇", "北翟路"]),
        ]
    }

    #[test]
    fn longest_unique_match_wins() {
        let st = streets();
        assert_eq!(
            route_by_address("长宁区愚园路1088号地下室", &st).as_deref(),
            Some("JSL")
        );
        assert_eq!(
            route_by_address("北新泾街道某小区", &st).as_deref(),
            Some("BXJ")
        );
        assert_eq!(
            route_by_address("新泾镇北翟路", &st).as_deref(),
            Some("XJZ")
        );
        assert_eq!(route_by_address("华阳路与江苏路路口", &st), None, "a tie");
        assert_eq!(route_by_address("长宁区某处", &st), None);
    }
}
