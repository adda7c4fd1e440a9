//! OpenSSH `allowed_signers` files (`keys/allowed_signers` for
//! enumerators, `keys/supervisors` for receipts) and SSHSIG checks against
//! them, as `ssh-keygen -Y verify` reads them (OpenSSH's `sshsig.c`):
//! - principals are a comma-separated pattern list (`enum-*`, `?`, `!x`
//!   to exclude), possibly in double quotes, matched as
//!   `match_pattern_list` does;
//! - `namespaces="..."` is a pattern list too;
//! - `valid-after="..."` / `valid-before="..."` (YYYYMMDD[HHMM[SS]], with
//!   `Z` for UTC, else local time) are checked against the verification
//!   time: now, as ssh-keygen does without `-O verify-time`. An SSHSIG
//!   carries no time of its own, so a retired key stops verifying;
//! - an unknown option, a value without quotes or the same option twice
//!   make the file unreadable, as they make ssh-keygen fail.
//!
//! Certificate authorities are not supported and are refused.

use ssh_key::{PublicKey, SshSig};

/// One usable line: principal patterns, allowed namespace patterns (None:
/// any), the time window, the key.
#[derive(Debug, Clone)]
pub struct Signer {
    /// The principals field as written (a comma-separated pattern list).
    pub principals: String,
    pub namespaces: Option<String>,
    /// Unix seconds: the key is valid from this time on.
    pub valid_after: Option<i64>,
    /// Unix seconds: the key is not valid after this time.
    pub valid_before: Option<i64>,
    pub key: PublicKey,
}

#[derive(Debug, Clone, Default)]
pub struct AllowedSigners {
    pub signers: Vec<Signer>,
    /// The verification time (Unix seconds); None: the system clock at
    /// each check.
    pub verify_time: Option<i64>,
}

/// Why no line allows a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No line lists this key for this principal and namespace.
    NotListed,
    /// The key is listed, but its `valid-after` is still to come.
    NotYetValid { valid_after: String },
    /// The key is listed, but its `valid-before` has passed.
    Expired { valid_before: String },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NotListed => write!(f, "the key is not in the signers file"),
            Refusal::NotYetValid { valid_after } => write!(
                f,
                "the key is in the signers file but not valid before {valid_after} (valid-after)"
            ),
            Refusal::Expired { valid_before } => write!(
                f,
                "the key in the signers file expired at {valid_before} (valid-before): it was \
                 retired; ask the deployment's coordinator"
            ),
        }
    }
}

/// A line of a signers file that cannot be read, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {why}")]
pub struct SignersFileError {
    pub line: usize,
    pub why: String,
}

/// Why a signature does not check, or could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature cannot be read ({0})")]
    Unreadable(String),
    #[error("the signature is for '{found}', not '{expected}'")]
    OtherNamespace { found: String, expected: String },
    #[error("the signature was made with another key than the one named")]
    OtherKey,
    #[error("bad signature: the signed bytes were changed")]
    Changed,
    #[error("cannot sign: {0}")]
    Sign(String),
}

impl AllowedSigners {
    /// Parses the file; a line that cannot be read is an error naming it.
    pub fn parse(text: &str) -> Result<Self, SignersFileError> {
        let mut signers = Vec::new();
        for (i, line) in text.trim_start_matches('\u{FEFF}').lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            signers.push(parse_line(line).map_err(|why| SignersFileError { line: i + 1, why })?);
        }
        Ok(AllowedSigners {
            signers,
            verify_time: None,
        })
    }

    /// Checks validity windows at this time (Unix seconds) instead of the
    /// system clock.
    pub fn at(mut self, unix_seconds: i64) -> Self {
        self.verify_time = Some(unix_seconds);
        self
    }

    fn now(&self) -> i64 {
        self.verify_time
            .unwrap_or_else(|| jiff::Timestamp::now().as_second())
    }

    /// The first line that allows `key` for `principal` (None: any
    /// principal, as `ssh-keygen -Y find-principals`) and `namespace`, now.
    pub fn find(
        &self,
        principal: Option<&str>,
        key: &PublicKey,
        namespace: &str,
    ) -> Option<&Signer> {
        self.check_signer(principal, key, namespace).ok()
    }

    /// As [`find`](Self::find), or why not: a listed key out of its time
    /// window is told apart from a key not listed at all.
    pub fn check_signer(
        &self,
        principal: Option<&str>,
        key: &PublicKey,
        namespace: &str,
    ) -> Result<&Signer, Refusal> {
        let now = self.now();
        let mut refusal = Refusal::NotListed;
        for s in &self.signers {
            if s.key.key_data() != key.key_data()
                || principal.is_some_and(|p| match_pattern_list(p, &s.principals) != Some(true))
                || s.namespaces
                    .as_deref()
                    .is_some_and(|n| match_pattern_list(namespace, n) != Some(true))
            {
                continue;
            }
            match (s.valid_after, s.valid_before) {
                (Some(after), _) if now < after => {
                    refusal = Refusal::NotYetValid {
                        valid_after: show_time(after),
                    }
                }
                (_, Some(before)) if now > before => {
                    refusal = Refusal::Expired {
                        valid_before: show_time(before),
                    }
                }
                _ => return Ok(s),
            }
        }
        Err(refusal)
    }
}

fn show_time(unix_seconds: i64) -> String {
    jiff::Timestamp::from_second(unix_seconds)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|_| unix_seconds.to_string())
}

/// One line: `principals [options] keytype base64 [comment]`.
fn parse_line(line: &str) -> Result<Signer, String> {
    let (principals, rest) = principals_field(line)?;
    let mut rest = rest.trim_start();
    let mut namespaces = None;
    let (mut valid_after, mut valid_before) = (None, None);
    // Options come before the key type, comma-separated, values quoted.
    if !rest.starts_with("ssh-") && !rest.starts_with("ecdsa-") && !rest.starts_with("sk-") {
        let end = option_end(rest);
        let options = &rest[..end];
        rest = rest[end..].trim_start();
        if rest.is_empty() {
            return Err("a principal and a key are needed".into());
        }
        for option in split_options(options) {
            let (name, value) = match option.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (option, None),
            };
            let name = name.to_ascii_lowercase();
            let quoted = || {
                value
                    .and_then(|v| v.strip_prefix('"'))
                    .and_then(|v| v.strip_suffix('"'))
                    .filter(|v| !v.contains('"'))
                    .ok_or_else(|| format!("the value of {name} must be in double quotes"))
            };
            let twice = || format!("{name} is given twice");
            match name.as_str() {
                "namespaces" => {
                    if namespaces.replace(quoted()?.to_string()).is_some() {
                        return Err(twice());
                    }
                }
                "valid-after" | "valid-before" => {
                    let value = quoted()?;
                    let time = parse_absolute_time(value).ok_or_else(|| {
                        format!(
                            "{name}=\"{value}\" is not a time: use YYYYMMDD, YYYYMMDDHHMM or \
                             YYYYMMDDHHMMSS, ending with Z for UTC"
                        )
                    })?;
                    let slot = if name == "valid-after" {
                        &mut valid_after
                    } else {
                        &mut valid_before
                    };
                    if slot.replace(time).is_some() {
                        return Err(twice());
                    }
                }
                "cert-authority" => return Err("cert-authority lines are not supported".into()),
                _ => return Err(format!("unknown option '{option}'")),
            }
        }
        if let (Some(a), Some(b)) = (valid_after, valid_before)
            && b <= a
        {
            return Err("valid-before is not after valid-after".into());
        }
    }
    let key =
        PublicKey::from_openssh(rest).map_err(|e| format!("not an OpenSSH public key ({e})"))?;
    Ok(Signer {
        principals,
        namespaces,
        valid_after,
        valid_before,
        key,
    })
}

/// The principals field and the rest of the line. As OpenSSH's
/// `strdelimw`: the field ends at white space, and a double quote opens a
/// part that runs to the next quote (so `"enum 1,enum-*"` is one field).
fn principals_field(line: &str) -> Result<(String, &str), String> {
    let Some(at) = line.find(|c: char| c.is_whitespace() || c == '"') else {
        return Err("a principal and a key are needed".into());
    };
    let mut field = line[..at].to_string();
    let rest = if line[at..].starts_with('"') {
        let inner = &line[at + 1..];
        let close = inner
            .find('"')
            .ok_or("the principals' opening quote is not closed")?;
        field.push_str(&inner[..close]);
        &inner[close + 1..]
    } else {
        &line[at..]
    };
    if field.is_empty() || rest.trim().is_empty() {
        return Err("a principal and a key are needed".into());
    }
    Ok((field, rest))
}

/// OpenSSH's `match_pattern_list`: Some(true) when a pattern matches,
/// Some(false) when a negated one (`!pattern`) does (which wins), None
/// when none does.
pub fn match_pattern_list(text: &str, list: &str) -> Option<bool> {
    let mut positive = None;
    for pattern in list.split(',') {
        let (negated, pattern) = match pattern.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, pattern),
        };
        if match_pattern(text.as_bytes(), pattern.as_bytes()) {
            if negated {
                return Some(false);
            }
            positive = Some(true);
        }
    }
    positive
}

/// OpenSSH's `match_pattern`: `*` any run of bytes, `?` one byte. Linear
/// in practice: the classic backtracking to the last star.
fn match_pattern(text: &[u8], pattern: &[u8]) -> bool {
    let (mut t, mut p) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            t += 1;
            p += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// OpenSSH's `parse_absolute_time`: YYYYMMDD, YYYYMMDDHHMM or
/// YYYYMMDDHHMMSS, in UTC when it ends with `Z` (or `UTC`), else in the
/// machine's time zone. Unix seconds.
pub fn parse_absolute_time(text: &str) -> Option<i64> {
    let upper = text.to_ascii_uppercase();
    let (digits, utc) = if let Some(d) = upper.strip_suffix("UTC").filter(|_| upper.len() > 3) {
        (d, true)
    } else if let Some(d) = upper.strip_suffix('Z').filter(|_| upper.len() > 1) {
        (d, true)
    } else {
        (upper.as_str(), false)
    };
    if !matches!(digits.len(), 8 | 12 | 14) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| digits.get(r).and_then(|s| s.parse::<i16>().ok());
    let (hour, minute, second) = match digits.len() {
        8 => (0, 0, 0),
        12 => (num(8..10)?, num(10..12)?, 0),
        _ => (num(8..10)?, num(10..12)?, num(12..14)?),
    };
    let civil = jiff::civil::DateTime::new(
        num(0..4)?,
        i8::try_from(num(4..6)?).ok()?,
        i8::try_from(num(6..8)?).ok()?,
        i8::try_from(hour).ok()?,
        i8::try_from(minute).ok()?,
        i8::try_from(second).ok()?,
        0,
    )
    .ok()?;
    let zone = if utc {
        jiff::tz::TimeZone::UTC
    } else {
        jiff::tz::TimeZone::system()
    };
    let seconds = civil.to_zoned(zone).ok()?.timestamp().as_second();
    // ssh-keygen refuses times before 1970 and a time of 0.
    (seconds > 0).then_some(seconds)
}

fn option_end(s: &str) -> usize {
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => return i,
            _ => {}
        }
    }
    s.len()
}

fn split_options(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// Checks an armored SSHSIG over `message`: made by `key`, for `namespace`.
pub fn check(
    key: &PublicKey,
    namespace: &str,
    message: &[u8],
    armored: &[u8],
) -> Result<(), SignatureError> {
    let sig = SshSig::from_pem(armored).map_err(|e| SignatureError::Unreadable(e.to_string()))?;
    if sig.namespace() != namespace {
        return Err(SignatureError::OtherNamespace {
            found: sig.namespace().to_string(),
            expected: namespace.to_string(),
        });
    }
    if sig.public_key() != key.key_data() {
        return Err(SignatureError::OtherKey);
    }
    key.verify(namespace, message, &sig)
        .map_err(|_| SignatureError::Changed)
}

/// Signs `message` for `namespace`: an armored SSHSIG (SHA-512).
pub fn sign(
    key: &ssh_key::PrivateKey,
    namespace: &str,
    message: &[u8],
) -> Result<String, SignatureError> {
    key.sign(namespace, ssh_key::HashAlg::Sha512, message)
        .and_then(|s| s.to_pem(ssh_key::LineEnding::LF))
        .map_err(|e| SignatureError::Sign(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssh_key::rand_core::OsRng;

    fn key() -> (ssh_key::PrivateKey, String) {
        let key = ssh_key::PrivateKey::random(&mut OsRng, ssh_key::Algorithm::Ed25519).unwrap();
        let public = key.public_key().to_openssh().unwrap();
        (key, public)
    }

    #[test]
    fn patterns_match_as_openssh_does() {
        assert_eq!(match_pattern_list("enum-07", "enum-*"), Some(true));
        assert_eq!(match_pattern_list("enum-07", "*"), Some(true));
        assert_eq!(match_pattern_list("enum-07", "enum-0?"), Some(true));
        assert_eq!(match_pattern_list("enum-17", "enum-0?"), None);
        assert_eq!(match_pattern_list("enum-07", "sup,enum-*"), Some(true));
        assert_eq!(
            match_pattern_list("enum-07", "enum-*,!enum-07"),
            Some(false)
        );
        assert_eq!(
            match_pattern_list("enum-07", "Enum-07"),
            None,
            "case matters"
        );
        assert_eq!(match_pattern_list("a*b", "a*b"), Some(true));
        assert_eq!(match_pattern_list("aXXbYYb", "a*b"), Some(true));
        assert_eq!(match_pattern_list("aXXbYYc", "a*b"), None);
        assert_eq!(match_pattern_list("", "*"), Some(true));
        assert_eq!(match_pattern_list("x", ""), None);
    }

    #[test]
    fn principals_may_be_quoted_patterns() {
        let (key, public) = key();
        let pk = key.public_key();
        let signers = AllowedSigners::parse(&format!(
            "\"enum-*,!enum-99\" namespaces=\"fieldkit-*\" {public}\n"
        ))
        .unwrap();
        assert!(
            signers
                .find(Some("enum-03"), pk, "fieldkit-bundle")
                .is_some()
        );
        assert!(
            signers
                .find(Some("enum-99"), pk, "fieldkit-bundle")
                .is_none()
        );
        assert!(signers.find(Some("sup-1"), pk, "fieldkit-bundle").is_none());
        assert!(signers.find(Some("enum-03"), pk, "other").is_none());
        let spaced = AllowedSigners::parse(&format!("\"enum 1\" {public}\n")).unwrap();
        assert!(spaced.find(Some("enum 1"), pk, "x").is_some());
        assert!(AllowedSigners::parse(&format!("\"enum-1 {public}\n")).is_err());
    }

    #[test]
    fn validity_windows_are_enforced_at_the_verification_time() {
        let (key, public) = key();
        let pk = key.public_key();
        let text =
            format!("enum-01 valid-after=\"20260101\",valid-before=\"20260630235959Z\" {public}\n");
        let at = |t: &str| {
            AllowedSigners::parse(&text)
                .unwrap()
                .at(parse_absolute_time(t).unwrap())
        };
        let june = at("20260601Z");
        assert!(june.find(Some("enum-01"), pk, "fieldkit-bundle").is_some());
        let july = at("20260701Z");
        assert!(matches!(
            july.check_signer(Some("enum-01"), pk, "fieldkit-bundle"),
            Err(Refusal::Expired { .. })
        ));
        let last_second = at("20260630235959Z");
        assert!(
            last_second.find(Some("enum-01"), pk, "x").is_some(),
            "inclusive, as ssh-keygen"
        );
        let before = at("20251231Z");
        assert!(matches!(
            before.check_signer(Some("enum-01"), pk, "x"),
            Err(Refusal::NotYetValid { .. })
        ));
        // Another line for the same key that is valid now still allows it.
        let renewed = AllowedSigners::parse(&format!(
            "{text}enum-01 valid-after=\"20260701Z\" {public}\n"
        ))
        .unwrap()
        .at(parse_absolute_time("20260801Z").unwrap());
        assert!(renewed.find(Some("enum-01"), pk, "x").is_some());
        // Without a time given, the clock: a key that expired in 2001.
        let old = AllowedSigners::parse(&format!("enum-01 valid-before=\"20010101Z\" {public}\n"))
            .unwrap();
        assert!(old.find(Some("enum-01"), pk, "x").is_none());
    }

    #[test]
    fn times_parse_as_ssh_keygen_does() {
        assert_eq!(parse_absolute_time("19700102Z"), Some(86_400));
        assert_eq!(parse_absolute_time("197001020001Z"), Some(86_460));
        assert_eq!(parse_absolute_time("19700102000101Z"), Some(86_461));
        assert_eq!(parse_absolute_time("19700102000101utc"), Some(86_461));
        for bad in [
            "",
            "Z",
            "2026",
            "2026-01-01",
            "20261301Z",
            "202601011Z",
            "19700101Z",
        ] {
            assert_eq!(parse_absolute_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn lines_ssh_keygen_refuses_are_refused() {
        let (_, public) = key();
        for options in [
            "valid-after=20260101",
            "valid-after=\"2026\"",
            "valid-after=\"20260101\",valid-after=\"20260102\"",
            "valid-after=\"20260102\",valid-before=\"20260101\"",
            "namespaces=\"a\",namespaces=\"b\"",
            "no-such-option",
            "namespaces=fieldkit-bundle",
        ] {
            let line = format!("enum-01 {options} {public}\n");
            let err = AllowedSigners::parse(&line).expect_err(options);
            assert_eq!(err.line, 1, "{err}");
            assert!(err.to_string().starts_with("line 1: "), "{err}");
        }
        assert!(AllowedSigners::parse("enum-01 namespaces=\"a\" \n").is_err());
    }

    #[test]
    fn parses_options_and_checks_principal_key_and_namespace() {
        let key = ssh_key::PrivateKey::random(&mut OsRng, ssh_key::Algorithm::Ed25519).unwrap();
        let public = key.public_key().to_openssh().unwrap();
        let text = format!(
            "# comment\nenum-03,enum-3b namespaces=\"fieldkit-bundle,other\" {public}\nsup {public}\n"
        );
        let signers = AllowedSigners::parse(&text).unwrap();
        assert_eq!(signers.signers.len(), 2);
        let pk = key.public_key();
        assert!(
            signers
                .find(Some("enum-3b"), pk, "fieldkit-bundle")
                .is_some()
        );
        assert!(
            signers
                .find(Some("enum-04"), pk, "fieldkit-bundle")
                .is_none()
        );
        assert!(
            signers
                .find(Some("enum-03"), pk, "fieldkit-receipt")
                .is_none()
        );
        assert!(signers.find(Some("sup"), pk, "fieldkit-receipt").is_some());
        let sig = sign(&key, "fieldkit-bundle", b"manifest").unwrap();
        assert!(check(pk, "fieldkit-bundle", b"manifest", sig.as_bytes()).is_ok());
        assert!(check(pk, "fieldkit-bundle", b"manifesT", sig.as_bytes()).is_err());
        assert!(check(pk, "fieldkit-receipt", b"manifest", sig.as_bytes()).is_err());
        let err = AllowedSigners::parse("enum-03 not-a-key AAAA\n").unwrap_err();
        assert!(err.to_string().starts_with("line 1"), "{err}");
        assert!(AllowedSigners::parse(&format!("ca cert-authority {public}\n")).is_err());
    }
}
