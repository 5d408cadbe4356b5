//! The load generator's gRPC calls: unary calls framed by hand on h2's client, with
//! nothing between a call and the HTTP/2 connection.
//!
//! The generator shares the 2 cores with the service under test, so every microsecond it
//! spends is taken from the service. tonic's `Channel` puts a tower buffer (a task and a
//! channel hop per call) in front of the connection; tonic's client codec allocates 8 KiB
//! buffers per call each way (glibc malloc and free were a quarter of this process's CPU);
//! and hyper's client spawns a task per request to pipe the body. Here a call is one
//! encoded message in one DATA frame, and its reply is read straight off the stream. The
//! service sees the same gRPC requests as from tonic (less tonic's user-agent header).

use anyhow::Context;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Method, Request, Uri};
use tonic::{Code, Status};

/// One HTTP/2 connection to a replica; clones share it.
#[derive(Clone)]
pub struct Conn {
    send: h2::client::SendRequest<Bytes>,
    /// `http://host:port`, in front of each call's path.
    origin: String,
}

/// Connects to `url` (`http://host:port`) with TCP_NODELAY, as tonic's endpoint would.
pub async fn connect(url: &str) -> anyhow::Result<Conn> {
    let origin: Uri = url.parse().with_context(|| format!("url {url}"))?;
    let authority = origin.authority().context("url has no host:port")?.as_str();
    let tcp = tokio::net::TcpStream::connect(authority).await?;
    tcp.set_nodelay(true)?;
    // hyper's client defaults (and so tonic's): h2's own 64 KiB windows would make a
    // batch's reply wait for WINDOW_UPDATEs mid-stream.
    let (send, conn) = h2::client::Builder::new()
        .initial_window_size(2 * 1024 * 1024)
        .initial_connection_window_size(5 * 1024 * 1024)
        .enable_push(false)
        .handshake(tcp)
        .await?;
    let peer = authority.to_string();
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            eprintln!("sla-bench: connection to {peer} ended: {e}");
        }
    });
    Ok(Conn {
        send,
        origin: format!("http://{authority}"),
    })
}

/// A message in gRPC's length-prefixed framing (uncompressed), ready to send (and to send
/// again on a retry).
pub fn frame(msg: &impl prost::Message) -> Bytes {
    let len = msg.encoded_len();
    let mut buf = BytesMut::with_capacity(5 + len);
    buf.put_u8(0);
    buf.put_u32(len as u32);
    msg.encode(&mut buf).expect("capacity reserved");
    buf.freeze()
}

impl Conn {
    /// One unary call of `path` (`/package.Service/Method`) with `body` from [`frame`];
    /// the reply decoded, or the call's gRPC status (a transport failure is UNAVAILABLE).
    pub async fn unary<R: prost::Message + Default>(
        &self,
        path: &str,
        authorization: &HeaderValue,
        timeout: &HeaderValue,
        body: Bytes,
    ) -> Result<R, Status> {
        let req = Request::builder()
            .method(Method::POST)
            .uri(format!("{}{path}", self.origin))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .header("authorization", authorization)
            .header("grpc-timeout", timeout)
            .body(())
            .map_err(|e| Status::internal(format!("request: {e}")))?;
        let mut send = self.send.clone().ready().await.map_err(unavailable)?;
        let (response, mut stream) = send.send_request(req, false).map_err(unavailable)?;
        stream.send_data(body, true).map_err(unavailable)?;

        let (head, mut recv) = response.await.map_err(unavailable)?.into_parts();
        if head.status != http::StatusCode::OK {
            return Err(http_status(head.status));
        }
        // An error comes "trailers-only": grpc-status in the headers, no body.
        if head.headers.contains_key("grpc-status") {
            status_of(&head.headers)?;
        }
        let mut chunks = Vec::with_capacity(1);
        while let Some(chunk) = recv.data().await {
            let chunk = chunk.map_err(unavailable)?;
            let _ = recv.flow_control().release_capacity(chunk.len());
            chunks.push(chunk);
        }
        // A reply is one DATA frame unless it is large: no copy in that case.
        let mut data = match chunks.len() {
            1 => chunks.pop().unwrap_or_default(),
            _ => Bytes::from(chunks.concat()),
        };
        let trailers = recv.trailers().await.map_err(unavailable)?;
        status_of(&trailers.unwrap_or_default())?;
        if data.len() < 5 || data[0] != 0 {
            return Err(Status::internal(
                "reply is not one uncompressed gRPC message",
            ));
        }
        data.advance(5);
        R::decode(data).map_err(|e| Status::internal(format!("reply: {e}")))
    }
}

/// `Ok` for grpc-status 0, else the status with its message.
fn status_of(headers: &HeaderMap) -> Result<(), Status> {
    let code = headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok()?.parse::<i32>().ok())
        .map(Code::from_i32)
        .ok_or_else(|| Status::unknown("no grpc-status"))?;
    if code == Code::Ok {
        return Ok(());
    }
    let message = headers
        .get("grpc-message")
        .map(|v| percent_decode(v.as_bytes()))
        .unwrap_or_default();
    Err(Status::new(code, message))
}

/// grpc-message is percent-encoded (gRPC over HTTP/2, "Responses").
fn percent_decode(raw: &[u8]) -> String {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        // Two hex digits exactly (from_str_radix alone would take "+5").
        let hex = raw
            .get(i + 1..i + 3)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| std::str::from_utf8(h).ok());
        match (raw[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A non-200 reply (a proxy's, say) as gRPC's HTTP-to-status mapping has it, as tonic
/// does: 429 and 502-504 are UNAVAILABLE, so the generator retries them as before.
fn http_status(status: http::StatusCode) -> Status {
    let code = match status.as_u16() {
        400 => Code::Internal,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::Unimplemented,
        429 | 502..=504 => Code::Unavailable,
        _ => Code::Unknown,
    };
    Status::new(code, format!("HTTP status {status}"))
}

fn unavailable(e: h2::Error) -> Status {
    Status::unavailable(format!("transport: {e}"))
}

#[cfg(test)]
mod tests {
    use super::{http_status, percent_decode};
    use tonic::Code;

    #[test]
    fn http_statuses_map_as_in_grpc() {
        for (http, grpc) in [
            (http::StatusCode::SERVICE_UNAVAILABLE, Code::Unavailable),
            (http::StatusCode::TOO_MANY_REQUESTS, Code::Unavailable),
            (http::StatusCode::NOT_FOUND, Code::Unimplemented),
            (http::StatusCode::IM_A_TEAPOT, Code::Unknown),
        ] {
            assert_eq!(http_status(http).code(), grpc, "{http}");
        }
    }

    #[test]
    fn grpc_message_is_percent_decoded() {
        assert_eq!(
            percent_decode(b"invalid%20token:%20InvalidSignature"),
            "invalid token: InvalidSignature"
        );
        assert_eq!(percent_decode("caf%C3%A9 100%".as_bytes()), "café 100%");
        assert_eq!(percent_decode(b"%+5 and %zz"), "%+5 and %zz");
    }
}
