//! Comparing an observed setting with what a rule expects.
//!
//! Values are compared by meaning, as the component reads them (see
//! `k8s::value`). A value a component could not have parsed is an error
//! ("garbage on the node"), never a silent pass or fail.

use crate::bench::{Expected, Op};
use crate::k8s::audit::{Level, item_level};
use crate::k8s::known::ValueKind;
use crate::k8s::value::{Observed, is_loopback_address, parse_go_bool, parse_go_duration};

fn parse_number(kind: ValueKind, s: &str) -> Option<f64> {
    match kind {
        ValueKind::Duration => parse_go_duration(s),
        _ => s.trim().parse::<f64>().ok(),
    }
}

/// Equality by meaning for `kind`. `Err` when the observed text is not a valid
/// value of that kind.
fn same(kind: ValueKind, actual: &str, expected: &str) -> Result<bool, String> {
    match kind {
        ValueKind::Bool => {
            let a = parse_go_bool(actual).ok_or_else(|| format!("{actual:?} is not a boolean"))?;
            Ok(parse_go_bool(expected) == Some(a))
        }
        ValueKind::Int | ValueKind::Duration => {
            let a = parse_number(kind, actual)
                .ok_or_else(|| format!("{actual:?} is not a valid {}", kind_name(kind)))?;
            Ok(parse_number(kind, expected) == Some(a))
        }
        ValueKind::Str | ValueKind::List => Ok(actual == expected),
    }
}

fn kind_name(kind: ValueKind) -> &'static str {
    match kind {
        ValueKind::Bool => "boolean",
        ValueKind::Int => "number",
        ValueKind::Duration => "duration",
        ValueKind::Str => "string",
        ValueKind::List => "list",
    }
}

/// Whether `host` or `host:port` names only the loopback interface.
/// Applies `op` to an observed setting. `Ok(true)` passes, `Ok(false)` fails,
/// `Err` means the observed value is not something the component accepts.
pub fn apply(op: Op, obs: &Observed, expected: &Expected) -> Result<bool, String> {
    match op {
        Op::Present => return Ok(obs.explicit),
        Op::Absent => return Ok(!obs.explicit),
        _ => {}
    }
    let Some(value) = &obs.value else {
        // Unset with no default: nothing is in it, nothing else holds.
        return Ok(matches!(op, Op::NotHave));
    };
    let exp = expected.as_str().unwrap_or("");
    match op {
        Op::Eq => same(obs.kind, &value.text(), exp),
        Op::NotEq => same(obs.kind, &value.text(), exp).map(|s| !s),
        Op::Gte | Op::Lte => {
            let text = value.text();
            let a =
                parse_number(obs.kind, &text).ok_or_else(|| format!("{text:?} is not a number"))?;
            let e = parse_number(obs.kind, exp)
                .ok_or_else(|| format!("rule value {exp:?} is not a number"))?;
            Ok(if op == Op::Gte { a >= e } else { a <= e })
        }
        Op::Has => Ok(value.items().iter().any(|i| i == exp)),
        Op::NotHave => Ok(!value.items().iter().any(|i| i == exp)),
        Op::InSet => {
            let text = value.text();
            let set = expected.as_list();
            for candidate in set {
                if same(obs.kind, &text, candidate)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Op::SubsetOf => {
            let items = value.items();
            let set = expected.as_list();
            Ok(!items.is_empty() && items.iter().all(|i| set.iter().any(|s| s == i)))
        }
        Op::Loopback => Ok(is_loopback_address(&value.text())),
        Op::LevelAtMost | Op::LevelAtLeast => {
            let want = Level::parse(exp)
                .ok_or_else(|| format!("rule value {exp:?} is not an audit level"))?;
            let mut all = true;
            for item in value.items() {
                let l =
                    item_level(&item).ok_or_else(|| format!("{item:?} is not an audit level"))?;
                all &= if op == Op::LevelAtMost {
                    l <= want
                } else {
                    l >= want
                };
            }
            Ok(all)
        }
        Op::Present | Op::Absent | Op::ModeAtMost | Op::OwnerIs => Err(format!(
            "operator {} does not apply to a setting",
            op.as_str()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::value::Value;

    fn obs(kind: ValueKind, v: Option<&str>, explicit: bool) -> Observed {
        Observed {
            value: v.map(|s| Value::Scalar(s.to_string())),
            explicit,
            source: String::new(),
            kind,
        }
    }

    fn s(v: &str) -> Expected {
        Expected::Str(v.to_string())
    }

    #[test]
    fn booleans_compare_like_go() {
        for t in ["true", "True", "1", "t"] {
            assert_eq!(
                apply(Op::Eq, &obs(ValueKind::Bool, Some(t), true), &s("true")),
                Ok(true)
            );
        }
        assert_eq!(
            apply(Op::Eq, &obs(ValueKind::Bool, Some("0"), true), &s("false")),
            Ok(true)
        );
        assert!(apply(Op::Eq, &obs(ValueKind::Bool, Some("yes"), true), &s("true")).is_err());
    }

    #[test]
    fn durations_compare_by_length() {
        assert_eq!(parse_go_duration("4h0m0s"), Some(4.0 * 3600e9));
        assert_eq!(parse_go_duration("1h30m"), Some(5400e9));
        assert_eq!(parse_go_duration("300ms"), Some(0.3e9));
        assert_eq!(parse_go_duration("0"), Some(0.0));
        assert_eq!(parse_go_duration("5"), None);
        assert_eq!(parse_go_duration("5x"), None);
        let zero = obs(ValueKind::Duration, Some("0s"), true);
        assert_eq!(apply(Op::NotEq, &zero, &s("0")), Ok(false));
        let four = obs(ValueKind::Duration, Some("4h0m0s"), false);
        assert_eq!(apply(Op::NotEq, &four, &s("0")), Ok(true));
    }

    #[test]
    fn numbers_compare_numerically() {
        let v = obs(ValueKind::Int, Some("100"), true);
        assert_eq!(apply(Op::Gte, &v, &s("30")), Ok(true));
        assert_eq!(apply(Op::Lte, &v, &s("30")), Ok(false));
        assert!(apply(Op::Gte, &obs(ValueKind::Int, Some("ten"), true), &s("10")).is_err());
    }

    #[test]
    fn present_means_set_on_purpose_not_defaulted() {
        assert_eq!(
            apply(
                Op::Present,
                &obs(ValueKind::Int, Some("12500"), false),
                &Expected::None
            ),
            Ok(false)
        );
        assert_eq!(
            apply(
                Op::Present,
                &obs(ValueKind::Int, Some("10"), true),
                &Expected::None
            ),
            Ok(true)
        );
        assert_eq!(
            apply(
                Op::Absent,
                &obs(ValueKind::Str, None, false),
                &Expected::None
            ),
            Ok(true)
        );
    }

    #[test]
    fn unset_without_default_fails_all_but_nothave() {
        let unset = obs(ValueKind::List, None, false);
        assert_eq!(apply(Op::NotHave, &unset, &s("AlwaysAdmit")), Ok(true));
        assert_eq!(apply(Op::Has, &unset, &s("NodeRestriction")), Ok(false));
        assert_eq!(apply(Op::Eq, &unset, &s("")), Ok(false));
        assert_eq!(
            apply(Op::SubsetOf, &unset, &Expected::List(vec!["A".into()])),
            Ok(false)
        );
    }

    #[test]
    fn lists_match_whole_elements_not_substrings() {
        let v = obs(ValueKind::List, Some("NodeRestrictionX,RBAC"), true);
        assert_eq!(apply(Op::Has, &v, &s("NodeRestriction")), Ok(false));
        assert_eq!(apply(Op::Has, &v, &s("RBAC")), Ok(true));
        let set = Expected::List(vec!["A".into(), "B".into()]);
        assert_eq!(
            apply(
                Op::SubsetOf,
                &obs(ValueKind::List, Some("A, B"), true),
                &set
            ),
            Ok(true)
        );
        assert_eq!(
            apply(Op::SubsetOf, &obs(ValueKind::List, Some("A,C"), true), &set),
            Ok(false)
        );
    }

    #[test]
    fn audit_levels_compare_by_how_much_they_record() {
        let levels = |items: &[&str]| Observed {
            value: Some(Value::List(items.iter().map(|s| s.to_string()).collect())),
            explicit: true,
            source: String::new(),
            kind: ValueKind::List,
        };
        let o = levels(&["Metadata by rules[1]", "None by rules[0]"]);
        assert_eq!(apply(Op::LevelAtMost, &o, &s("Metadata")), Ok(true));
        assert_eq!(apply(Op::LevelAtLeast, &o, &s("Metadata")), Ok(false));
        assert_eq!(apply(Op::LevelAtLeast, &o, &s("None")), Ok(true));
        let o = levels(&["RequestResponse by rules[2]"]);
        assert_eq!(apply(Op::LevelAtMost, &o, &s("Request")), Ok(false));
        assert_eq!(apply(Op::LevelAtLeast, &o, &s("Request")), Ok(true));
        assert!(apply(Op::LevelAtMost, &levels(&["Loud"]), &s("Metadata")).is_err());
    }
}
