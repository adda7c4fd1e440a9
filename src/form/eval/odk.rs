//! ODK's further XPath functions, as ODK Collect computes them: `once()`,
//! `random()` and `uuid()`, the string functions (`substring-before`,
//! `translate`, `base64-decode`, `digest`...), the math of `log` to
//! `atan2`, `decimal-time` and `date-time`, `checklist` and
//! `weighted-checklist`, and `area` and `distance` over points. Kept apart
//! from `eval` so that the core coercions stay short to read.

use base64::Engine as _;
use sha2::Digest as _;

use super::{Scope, XVal, eval, string_to_number};
use crate::form::dates;
use crate::form::expr::{Expr, Func};
use crate::form::limits::MAX_TEXT_BYTES;

/// The Earth's radius ODK's `area()` and `distance()` use (WGS 84's
/// equatorial radius, in metres).
const EARTH_RADIUS_M: f64 = 6_378_137.0;

/// Digest algorithms `digest()` computes; MD5 and SHA-1 are refused when
/// the form is loaded (fieldkit carries no implementation of them).
pub(crate) const DIGESTS: &[&str] = &["SHA-256", "SHA-384", "SHA-512"];

/// `func` over `args`, if it is one of this module's functions.
pub(super) fn call(func: Func, args: &[Expr], scope: &impl Scope) -> Option<XVal> {
    use XVal::*;
    let arg = |i: usize| args.get(i).map_or(Str(String::new()), |a| eval(a, scope));
    let text = |i: usize| arg(i).into_string();
    let num = |i: usize| arg(i).to_num();
    let math = |f: fn(f64) -> f64| Num(f(num(0)));
    Some(match func {
        // The value the question already has, else the argument: ODK's
        // way to draw a random number or an id once per record.
        Func::Once => {
            let had = scope.current().into_string();
            if had.is_empty() { arg(0) } else { Str(had) }
        }
        Func::Random => Num((scope.random_bits() >> 11) as f64 / (1u64 << 53) as f64),
        Func::Uuid if args.is_empty() => Str(uuid4(scope)),
        Func::Uuid => {
            let n = num(0);
            if !(n.is_finite() && n >= 0.0) || n as usize > MAX_TEXT_BYTES {
                return Some(Str(String::new()));
            }
            Str(random_text(scope, n as usize))
        }
        Func::SubstringBefore => {
            let (s, sep) = (text(0), text(1));
            Str(s.find(&sep).map(|i| s[..i].to_string()).unwrap_or_default())
        }
        Func::SubstringAfter => {
            let (s, sep) = (text(0), text(1));
            Str(s
                .find(&sep)
                .map(|i| s[i + sep.len()..].to_string())
                .unwrap_or_default())
        }
        Func::Translate => {
            let (s, from, to) = (text(0), text(1), text(2));
            let from: Vec<char> = from.chars().collect();
            let to: Vec<char> = to.chars().collect();
            Str(s
                .chars()
                .filter_map(|c| match from.iter().position(|&f| f == c) {
                    Some(i) => to.get(i).copied(),
                    None => Some(c),
                })
                .collect())
        }
        Func::BooleanFromString => {
            let t = text(0);
            Bool(matches!(t.trim(), "true" | "1"))
        }
        Func::Base64Decode => Str(base64::engine::general_purpose::STANDARD
            .decode(text(0).trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default()),
        Func::Digest => {
            let data = text(0);
            let algorithm = text(1).trim().to_ascii_uppercase();
            let bytes = match algorithm.as_str() {
                "SHA-256" => sha2::Sha256::digest(data.as_bytes()).to_vec(),
                "SHA-384" => sha2::Sha384::digest(data.as_bytes()).to_vec(),
                "SHA-512" => sha2::Sha512::digest(data.as_bytes()).to_vec(),
                _ => return Some(Str(String::new())),
            };
            let hex = args.len() > 2 && text(2).trim().eq_ignore_ascii_case("hex");
            Str(if hex {
                bytes.iter().map(|b| format!("{b:02x}")).collect()
            } else {
                base64::engine::general_purpose::STANDARD.encode(bytes)
            })
        }
        Func::Log => math(f64::ln),
        Func::Log10 => math(f64::log10),
        Func::Exp => math(f64::exp),
        Func::Exp10 => math(|x| 10f64.powf(x)),
        Func::Sqrt => math(f64::sqrt),
        Func::Sin => math(f64::sin),
        Func::Cos => math(f64::cos),
        Func::Tan => math(f64::tan),
        Func::Asin => math(f64::asin),
        Func::Acos => math(f64::acos),
        Func::Atan => math(f64::atan),
        Func::Atan2 => Num(num(0).atan2(num(1))),
        Func::Pi => Num(std::f64::consts::PI),
        // A time as the fraction of its day (the offset kept, as ODK does).
        Func::DecimalTime => match arg(0) {
            XVal::DateTime(dt) => Num(dt.local().1 as f64 / 86_400_000.0),
            other => {
                let t = other.into_string();
                match dates::parse_time(t.trim()) {
                    Some((ms, _)) => Num(ms as f64 / 86_400_000.0),
                    None => Num(f64::NAN),
                }
            }
        },
        // Days since the epoch as a moment (UTC), or a date-time's text.
        Func::DateTime => match arg(0) {
            XVal::DateTime(dt) => XVal::DateTime(dt),
            Date(d) => XVal::DateTime(dates::DateTime {
                epoch_ms: d * 86_400_000,
                offset_s: 0,
            }),
            other => {
                let t = other.clone().into_string();
                if let Some(dt) = dates::parse_datetime(t.trim(), 0) {
                    return Some(XVal::DateTime(dt));
                }
                let days = other.to_num();
                if days.is_finite() && days.abs() < 1e8 {
                    XVal::DateTime(dates::DateTime {
                        epoch_ms: (days * 86_400_000.0).round() as i64,
                        offset_s: 0,
                    })
                } else {
                    Str(String::new())
                }
            }
        },
        Func::Checklist => {
            let count = args[2..]
                .iter()
                .flat_map(|a| match eval(a, scope) {
                    Set(v) => v.into_iter().map(|s| Str(s).to_bool()).collect(),
                    one => vec![one.to_bool()],
                })
                .filter(|b| *b)
                .count() as f64;
            Bool(within(count, num(0), num(1)))
        }
        Func::WeightedChecklist => {
            let total: f64 = args[2..]
                .chunks(2)
                .filter(|pair| eval(&pair[0], scope).to_bool())
                .map(|pair| pair.get(1).map_or(0.0, |w| eval(w, scope).to_num()))
                .sum();
            Bool(within(total, num(0), num(1)))
        }
        Func::Area => Num(points(&text(0)).map_or(f64::NAN, |p| area(&p))),
        Func::Distance => {
            let all: Vec<String> = args.iter().flat_map(|a| eval(a, scope).strings()).collect();
            Num(points(&all.join(";")).map_or(f64::NAN, |p| distance(&p)))
        }
        _ => return None,
    })
}

/// ODK's checklist bounds: -1 means no bound.
fn within(x: f64, min: f64, max: f64) -> bool {
    (min == -1.0 || x >= min) && (max == -1.0 || x <= max)
}

/// A random version 4 UUID, as `uuid()` gives.
fn uuid4(scope: &impl Scope) -> String {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&scope.random_bits().to_le_bytes());
    bytes[8..].copy_from_slice(&scope.random_bits().to_le_bytes());
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// `uuid(n)`: n random letters and digits.
fn random_text(scope: &impl Scope, n: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    (0..n)
        .map(|_| ALPHABET[(scope.random_bits() % ALPHABET.len() as u64) as usize] as char)
        .collect()
}

/// Points as geopoint, geotrace and geoshape answers write them:
/// `lat lon [alt [accuracy]]`, separated by `;`. None if any is not one.
pub(crate) fn points(text: &str) -> Option<Vec<(f64, f64)>> {
    text.split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut parts = p.split_whitespace().map(string_to_number);
            let (lat, lon) = (parts.next()?, parts.next()?);
            ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)).then_some((lat, lon))
        })
        .collect()
}

/// The length of a line through `points`, in metres (great circles).
pub(crate) fn distance(points: &[(f64, f64)]) -> f64 {
    points
        .windows(2)
        .map(|w| {
            let (la1, lo1) = (w[0].0.to_radians(), w[0].1.to_radians());
            let (la2, lo2) = (w[1].0.to_radians(), w[1].1.to_radians());
            let h = ((la2 - la1) / 2.0).sin().powi(2)
                + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
            2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
        })
        .sum()
}

/// The area of the polygon through `points` on the sphere, in square
/// metres (the spherical excess, as ODK and Google's geometry library
/// compute it).
pub(crate) fn area(points: &[(f64, f64)]) -> f64 {
    if points.len() < 3 {
        return 0.0;
    }
    let tan_lat = |lat: f64| ((std::f64::consts::FRAC_PI_2 - lat.to_radians()) / 2.0).tan();
    let Some(&(last_lat, last_lon)) = points.last() else {
        return 0.0;
    };
    let (mut prev_tan, mut prev_lon) = (tan_lat(last_lat), last_lon.to_radians());
    let mut total = 0.0;
    for &(lat, lon) in points {
        let (t, l) = (tan_lat(lat), lon.to_radians());
        let product = t * prev_tan;
        let delta = l - prev_lon;
        total += 2.0 * (product * delta.sin()).atan2(1.0 + product * delta.cos());
        prev_tan = t;
        prev_lon = l;
    }
    (total * EARTH_RADIUS_M * EARTH_RADIUS_M).abs()
}
