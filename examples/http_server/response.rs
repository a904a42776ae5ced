//! A response of `http_server` and its bytes on the wire: status line, `Content-Type`,
//! `Content-Length`, the `Connection` header the request's keep-alive calls for, body.
//! What to answer is `routes.rs`; sending it is `connection.rs`.

use std::borrow::Cow;

/// Whether the connection stays open after this response, and how to say so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// HTTP/1.1's default: nothing to say.
    KeepAlive,
    /// An HTTP/1.0 client that asked for keep-alive must be told it got it.
    KeepAliveHttp10,
    /// `Connection: close`, then the server closes.
    Close,
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub reason: &'static str,
    pub content_type: &'static str,
    /// One extra header line without its CRLF (`Allow: ...`), if any.
    pub extra_header: Option<&'static str>,
    /// Borrowed for a fixed text (no allocation per hello), owned for an echo.
    pub body: Cow<'static, [u8]>,
}

impl Response {
    pub fn new(
        status: u16,
        reason: &'static str,
        content_type: &'static str,
        body: impl Into<Cow<'static, [u8]>>,
    ) -> Self {
        Response {
            status,
            reason,
            content_type,
            extra_header: None,
            body: body.into(),
        }
    }

    /// A plain-text response whose body is the reason phrase (errors, 404).
    pub fn plain(status: u16, reason: &'static str) -> Self {
        let body = format!("{reason}\n").into_bytes();
        Response::new(status, reason, "text/plain", body)
    }

    /// Appends the response's bytes to `out`; a response to `HEAD` has the headers of
    /// the full one and no body.
    pub fn encode(&self, persistence: Persistence, head_only: bool, out: &mut Vec<u8>) {
        out.extend_from_slice(b"HTTP/1.1 ");
        push_decimal(out, u64::from(self.status));
        out.push(b' ');
        out.extend_from_slice(self.reason.as_bytes());
        out.extend_from_slice(b"\r\nContent-Type: ");
        out.extend_from_slice(self.content_type.as_bytes());
        out.extend_from_slice(b"\r\nContent-Length: ");
        push_decimal(out, self.body.len() as u64);
        out.extend_from_slice(b"\r\n");
        if let Some(line) = self.extra_header {
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(match persistence {
            Persistence::KeepAlive => b"\r\n",
            Persistence::KeepAliveHttp10 => b"Connection: keep-alive\r\n\r\n",
            Persistence::Close => b"Connection: close\r\n\r\n",
        });
        if !head_only {
            out.extend_from_slice(&self.body);
        }
    }
}

/// Appends `n` in decimal (what `write!` does, without its formatting machinery,
/// which was about a tenth of the server's instructions per request under `wrk`).
fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        for n in [0, 7, 10, 13, 99, 100, 1_048_576, u64::MAX] {
            let mut out = b"x".to_vec();
            push_decimal(&mut out, n);
            assert_eq!(out, format!("x{n}").into_bytes());
        }
    }

    #[test]
    fn a_response_says_its_length_and_persistence() {
        let mut out = Vec::new();
        Response::new(200, "OK", "text/plain", &b"hi"[..]).encode(
            Persistence::KeepAlive,
            false,
            &mut out,
        );
        assert_eq!(
            out,
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi"
        );
        out.clear();
        let mut r = Response::plain(405, "Method Not Allowed");
        r.extra_header = Some("Allow: GET, HEAD");
        r.encode(Persistence::Close, true, &mut out);
        assert_eq!(
            out,
            &b"HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain\r\nContent-Length: 19\r\n\
               Allow: GET, HEAD\r\nConnection: close\r\n\r\n"[..]
        );
    }
}
