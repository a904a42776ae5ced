//! What `http_server` answers: `/` says hello (GET, HEAD), `/echo` sends a POST or
//! PUT body back as it came (curl's chunked uploads can be checked byte for byte),
//! anything else is 404. The response's encoding is `response.rs`.

use crate::request::RequestHead;
use crate::response::Response;

pub const HELLO: &[u8] = b"Hello, World!";

/// The response to a request with its (decoded) body.
pub fn route(head: &RequestHead<'_>, body: Vec<u8>) -> Response {
    let path = head.path.split('?').next().unwrap_or_default();
    match (path, head.method) {
        ("/", "GET" | "HEAD") => Response::new(200, "OK", "text/plain", HELLO),
        ("/", _) => not_allowed("Allow: GET, HEAD"),
        ("/echo", "POST" | "PUT") => Response::new(200, "OK", "application/octet-stream", body),
        ("/echo", _) => not_allowed("Allow: POST, PUT"),
        _ => Response::plain(404, "Not Found"),
    }
}

fn not_allowed(allow: &'static str) -> Response {
    let mut response = Response::plain(405, "Method Not Allowed");
    response.extra_header = Some(allow);
    response
}
