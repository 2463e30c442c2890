//! Connections: how many at once, and how long a client may keep one without finishing a
//! request. A client that opens connections and sends nothing, or sends its headers a byte at a
//! time (slowloris), holds one slot for at most `header_timeout`; a body that trickles is cut at
//! `request_timeout`; beyond `max_connections`, new connections wait in the kernel's backlog
//! until a slot frees instead of starving the ones being served.

use super::router;
use axum::http::StatusCode;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// What one `offersim serve` process holds at most, and how long it waits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Users that can link a card.
    pub max_users: u32,
    /// Distinct transaction ids kept (each message's, and each refund's original).
    pub max_transactions: u32,
    /// Connections served at once.
    pub max_connections: usize,
    /// From a connection's first byte (or the end of its previous request) to the end of the
    /// request's headers; an idle kept-alive connection is closed after this long.
    pub header_timeout: Duration,
    /// From the end of the headers to the answer (reading the body included).
    pub request_timeout: Duration,
}

impl Limits {
    pub const DEFAULT_MAX_TRANSACTIONS: u32 = 10_000_000;
    pub const DEFAULT_MAX_CONNECTIONS: usize = 8_192;
    pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

    /// The defaults, for up to `max_users` users.
    pub fn new(max_users: u32) -> Limits {
        Limits {
            max_users,
            max_transactions: Self::DEFAULT_MAX_TRANSACTIONS,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            header_timeout: Self::DEFAULT_HEADER_TIMEOUT,
            request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// How long to wait before accepting again after `accept` failed (out of file descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves the routes on `listener` until `shutdown` resolves; connections being served are then
/// let finish their request.
pub async fn serve(
    listener: tokio::net::TcpListener,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(limits).layer(tower_http::timeout::TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        limits.request_timeout,
    ));
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).keep_alive(true);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, _)) => stream,
                Err(_) => {
                    // Out of descriptors or a connection reset before it was accepted: the
                    // listener itself is fine; wait a little and go on.
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // The connection's end (a timeout, a reset, a client gone) is no error of the service's.
            let _ = conn.await;
            drop(permit);
        });
    }
    // Requests under way finish (within their own timeouts); new ones are not taken.
    let _ = tokio::time::timeout(limits.request_timeout + limits.header_timeout, graceful.shutdown()).await;
    Ok(())
}
