//! Splitting an inline request (`SET greeting "hello world"`) into arguments, with
//! the quoting rules of redis's inline protocol and redis-cli: arguments are
//! separated by spaces, tabs or line ends; `"..."` takes the escapes `\n \r \t \b \a`,
//! `\xHH` and `\<any>`; `'...'` takes only `\'`; a quote may start in the middle of
//! an argument, and a closing quote must end the argument. Used by `resp.rs`.

use std::borrow::Cow;

/// Where the splitter is inside one argument.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    None,
    Double,
    Single,
}

/// The arguments of `line` (its line end already removed); `None` for unbalanced
/// quotes. Arguments without quotes borrow `line`.
pub fn split(line: &[u8]) -> Option<Vec<Cow<'_, [u8]>>> {
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while line.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        if i == line.len() {
            return Some(args);
        }
        let (arg, next) = argument(line, i)?;
        args.push(arg);
        i = next;
    }
}

/// Whether `b` ends an argument outside quotes.
fn separates(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// One argument starting at `start` (not a space): it and the position after it.
fn argument(line: &[u8], start: usize) -> Option<(Cow<'_, [u8]>, usize)> {
    // The common case, no quote at all: a slice of the line.
    let end = line[start..]
        .iter()
        .position(|&b| separates(b))
        .map_or(line.len(), |n| start + n);
    let plain = &line[start..end];
    if !plain.iter().any(|&b| b == b'"' || b == b'\'') {
        return Some((Cow::Borrowed(plain), end));
    }
    let mut out = Vec::new();
    let mut quote = Quote::None;
    let mut i = start;
    loop {
        let Some(&b) = line.get(i) else {
            // The line ended inside quotes: unbalanced.
            return (quote == Quote::None).then_some((Cow::Owned(out), i));
        };
        match quote {
            Quote::None if separates(b) => return Some((Cow::Owned(out), i)),
            Quote::None if b == b'"' => quote = Quote::Double,
            Quote::None if b == b'\'' => quote = Quote::Single,
            Quote::None => out.push(b),
            Quote::Double if b == b'\\' && line.get(i + 1) == Some(&b'x') => {
                match (hex(line.get(i + 2)), hex(line.get(i + 3))) {
                    (Some(hi), Some(lo)) => {
                        out.push(hi << 4 | lo);
                        i += 3;
                    }
                    // `\x` without two hex digits: an `x`, as `\<any>` gives.
                    _ => {
                        out.push(b'x');
                        i += 1;
                    }
                }
            }
            Quote::Double if b == b'\\' && i + 1 < line.len() => {
                i += 1;
                out.push(match line[i] {
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'b' => 0x08,
                    b'a' => 0x07,
                    other => other,
                });
            }
            Quote::Single if b == b'\\' && line.get(i + 1) == Some(&b'\'') => {
                out.push(b'\'');
                i += 1;
            }
            Quote::Double if b == b'"' => return closed(line, i, out),
            Quote::Single if b == b'\'' => return closed(line, i, out),
            Quote::Double | Quote::Single => out.push(b),
        }
        i += 1;
    }
}

/// A closing quote at `at` ends the argument, and must be followed by a space or
/// the end of the line.
fn closed(line: &[u8], at: usize, out: Vec<u8>) -> Option<(Cow<'_, [u8]>, usize)> {
    match line.get(at + 1) {
        Some(b) if !b.is_ascii_whitespace() => None,
        _ => Some((Cow::Owned(out), at + 1)),
    }
}

fn hex(b: Option<&u8>) -> Option<u8> {
    char::from(*b?).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::split;

    fn args(line: &str) -> Option<Vec<Vec<u8>>> {
        split(line.as_bytes()).map(|v| v.into_iter().map(|a| a.into_owned()).collect())
    }

    fn ok(line: &str, want: &[&[u8]]) {
        let want: Vec<Vec<u8>> = want.iter().map(|a| a.to_vec()).collect();
        assert_eq!(args(line), Some(want), "{line:?}");
    }

    #[test]
    fn splits_on_runs_of_spaces_and_tabs() {
        ok("SET  key\tvalue ", &[b"SET", b"key", b"value"]);
        ok("", &[]);
        ok("   ", &[]);
    }

    #[test]
    fn double_quotes_take_escapes() {
        ok(r#"SET k "a b""#, &[b"SET", b"k", b"a b"]);
        ok(
            r#"ECHO "x\n\r\t\b\a\"\\z""#,
            &[b"ECHO", b"x\n\r\t\x08\x07\"\\z"],
        );
        ok(r#"ECHO "\x41\x7a\xg1""#, &[b"ECHO", b"Az\x78g1"]);
        ok(r#"ECHO """#, &[b"ECHO", b""]);
    }

    #[test]
    fn single_quotes_take_only_the_quote_escape() {
        ok(r"ECHO 'it\'s \n'", &[b"ECHO", b"it's \\n"]);
    }

    #[test]
    fn a_quote_may_start_inside_an_argument() {
        ok(r#"ECHO ab"c d""#, &[b"ECHO", b"abc d"]);
    }

    #[test]
    fn unbalanced_quotes_are_refused() {
        assert_eq!(args(r#"ECHO "abc"#), None);
        assert_eq!(args("ECHO 'abc"), None);
        assert_eq!(
            args(r#"ECHO "a"b"#),
            None,
            "closing quote not followed by a space"
        );
        assert_eq!(args("SET k 'a'b"), None);
    }
}
