//! A response of `http_server` and its bytes on the wire: status line, `Content-Type`,
//! `Content-Length`, the `Connection` header the request's keep-alive calls for, body.
//! What to answer is `routes.rs`; sending it is `connection.rs`.

use std::io::Write as _;

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
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(
        status: u16,
        reason: &'static str,
        content_type: &'static str,
        body: Vec<u8>,
    ) -> Self {
        Response {
            status,
            reason,
            content_type,
            extra_header: None,
            body,
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
        // Writing to a Vec cannot fail.
        let _ = write!(
            out,
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
            self.status,
            self.reason,
            self.content_type,
            self.body.len()
        );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_says_its_length_and_persistence() {
        let mut out = Vec::new();
        Response::new(200, "OK", "text/plain", b"hi".to_vec()).encode(
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
