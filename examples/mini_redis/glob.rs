//! Glob patterns as redis matches them (`KEYS`, `PSUBSCRIBE`, `CONFIG GET`): `*` any
//! run of bytes, `?` one byte, `[abc]` `[a-z]` `[^a]` a class (a reversed range is
//! swapped, an unclosed class ends with the pattern), `\x` the byte `x` literally,
//! inside a class or out. Byte-wise and case-sensitive, as redis's `stringmatchlen`,
//! down to its corners: an empty string matches only the empty pattern (so `KEYS *`
//! is special-cased by its caller, as in redis).
//!
//! Every token but `*` matches exactly one byte, so one backtracking point (the last
//! `*`) is enough: time O(pattern × string), no recursion, whatever the pattern.

/// Whether `string` matches `pattern`.
pub fn matches(pattern: &[u8], string: &[u8]) -> bool {
    if string.is_empty() {
        return pattern.is_empty();
    }
    let (mut p, mut i) = (0, 0);
    // After the last `*` seen: where the rest of the pattern starts, and where in the
    // string it was last tried.
    let mut star: Option<(usize, usize)> = None;
    loop {
        if i == string.len() {
            while pattern.get(p) == Some(&b'*') {
                p += 1;
            }
            if p == pattern.len() {
                return true;
            }
        } else if pattern.get(p) == Some(&b'*') {
            while pattern.get(p) == Some(&b'*') {
                p += 1;
            }
            if p == pattern.len() {
                return true;
            }
            star = Some((p, i));
            continue;
        } else if let Some(next) = (p < pattern.len())
            .then(|| one(pattern, p, string[i]))
            .flatten()
        {
            p = next;
            i += 1;
            continue;
        }
        // A mismatch: let the last `*` take one more byte and try again.
        match star {
            Some((after, tried)) if tried < string.len() => {
                star = Some((after, tried + 1));
                p = after;
                i = tried + 1;
            }
            _ => return false,
        }
    }
}

/// Matches the token at `pattern[p]` (not `*`) against the byte `c`: where the next
/// token starts if it matches.
fn one(pattern: &[u8], p: usize, c: u8) -> Option<usize> {
    match pattern[p] {
        b'?' => Some(p + 1),
        b'[' => class(pattern, p + 1, c),
        b'\\' if p + 1 < pattern.len() => (pattern[p + 1] == c).then_some(p + 2),
        literal => (literal == c).then_some(p + 1),
    }
}

/// The class whose body starts at `p` (after `[`) against `c`.
fn class(pattern: &[u8], mut p: usize, c: u8) -> Option<usize> {
    let negated = pattern.get(p) == Some(&b'^');
    if negated {
        p += 1;
    }
    let mut hit = false;
    let end = loop {
        let left = pattern.len() - p;
        match pattern.get(p) {
            None => break p,
            Some(b'\\') if left >= 2 => {
                hit |= pattern[p + 1] == c;
                p += 2;
            }
            Some(b']') => break p + 1,
            Some(&lo) if left >= 3 && pattern[p + 1] == b'-' => {
                let hi = pattern[p + 2];
                let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
                hit |= (lo..=hi).contains(&c);
                p += 3;
            }
            Some(&member) => {
                hit |= member == c;
                p += 1;
            }
        }
    };
    (hit != negated).then_some(end)
}

#[cfg(test)]
mod tests {
    use super::matches;

    fn yes(pattern: &str, string: &str) {
        assert!(
            matches(pattern.as_bytes(), string.as_bytes()),
            "{pattern:?} should match {string:?}"
        );
    }

    fn no(pattern: &str, string: &str) {
        assert!(
            !matches(pattern.as_bytes(), string.as_bytes()),
            "{pattern:?} should not match {string:?}"
        );
    }

    #[test]
    fn stars_and_question_marks() {
        yes("*", "anything");
        yes("h*llo", "hllo");
        yes("h*llo", "heeeello");
        yes("h?llo", "hello");
        no("h?llo", "hllo");
        yes("*a*b*c*", "xxaxxbxxcxx");
        no("*a*b*c*", "xxaxxcxxbxx");
        yes("a**b", "ab");
        no("a*?", "a");
        yes("a*?", "ab");
        no("abc", "abcd");
        no("abcd", "abc");
    }

    #[test]
    fn classes_ranges_and_negation() {
        yes("h[ae]llo", "hello");
        yes("h[ae]llo", "hallo");
        no("h[ae]llo", "hillo");
        yes("h[^e]llo", "hallo");
        no("h[^e]llo", "hello");
        yes("h[a-b]llo", "hbllo");
        no("h[a-b]llo", "hcllo");
        yes("h[z-a]llo", "hmllo"); // a reversed range is swapped
        yes("[\\]]", "]");
        yes("[a\\-z]", "-");
        no("[a\\-z]", "m");
        yes("x[abc", "xb"); // an unclosed class ends with the pattern
        no("x[", "x");
        no("[]", "]"); // `[]` is an empty class, then nothing
    }

    #[test]
    fn escapes_are_literal() {
        yes("h\\*llo", "h*llo");
        no("h\\*llo", "hello");
        yes("h\\?", "h?");
        no("h\\?", "ha");
        yes("a\\", "a\\"); // a trailing backslash is itself
    }

    #[test]
    fn the_empty_string_matches_only_the_empty_pattern() {
        yes("", "");
        no("*", "");
        no("", "a");
    }

    #[test]
    fn many_stars_stay_fast() {
        let pattern = "*a".repeat(40) + "b";
        let string = "a".repeat(4000);
        no(&pattern, &string);
    }
}
