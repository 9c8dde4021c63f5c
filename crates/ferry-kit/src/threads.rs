//! Serving threads: one listening socket served by several threads, each with its own
//! single-threaded tokio runtime ([`crate::config::ServiceConfig::serve_threads`]).
//!
//! On the main (work-stealing) runtime a call hops between threads: the connection's task
//! reads the request on one worker, the call's own task may run on another, and every
//! wake-up across them is a futex and a context switch, tens of microseconds each on a
//! busy host. A serving thread accepts a connection and runs every task of it (the
//! connection, its streams, and whatever they spawn, e.g. the gateway's upstream
//! connections) on itself: no call ever waits for another thread. The service's
//! background tasks (controllers, watches, registration) stay on the main runtime; shared
//! state is reached through the same `Arc`s as before.
//!
//! One acceptor task on the main runtime takes the connections and hands each to the
//! serving thread with the fewest open connections (the stream moves to that thread's
//! reactor): a thread's share of the work follows its connections, whatever order the
//! kernel would have woken threads sharing one socket in (sharing it, the first thread
//! woken took every connection of a burst).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// The connections a serving thread is given, as tonic's server takes them.
pub(crate) type Incoming = Pin<Box<dyn Stream<Item = io::Result<Connection>> + Send>>;

/// Serves `listener` on `threads` threads named `<name>-serve-<n>`: each calls `serve`
/// with the connections it is given (TCP_NODELAY set) and runs the returned future to its
/// end. Connections are accepted until `stop_accepting` is cancelled (then the listening
/// socket closes).
///
/// The returned future ends when every thread has ended (their `serve` futures end on the
/// server's own shutdown signal), or at the first one that failed. Dropping it stops the
/// acceptor and the threads at once, dropping their open connections: that is how the kit
/// ends a drain that outlived its grace period.
pub(crate) fn serve_on_threads<M, F>(
    name: &str,
    listener: TcpListener,
    threads: usize,
    stop_accepting: CancellationToken,
    serve: M,
) -> io::Result<impl Future<Output = anyhow::Result<()>> + Send + use<M, F>>
where
    M: Fn(Incoming) -> F + Send + Sync + 'static,
    F: Future<Output = Result<(), tonic::transport::Error>>,
{
    let serve = Arc::new(serve);
    let abort = CancellationToken::new();
    let (ended, mut results) = mpsc::unbounded_channel();
    let mut lanes = Vec::with_capacity(threads);
    for index in 0..threads {
        let (give, given) = mpsc::unbounded_channel::<std::net::TcpStream>();
        let open = Arc::new(AtomicUsize::new(0));
        lanes.push(Lane {
            give,
            open: open.clone(),
        });
        let serve = serve.clone();
        let abort = abort.clone();
        let ended = ended.clone();
        std::thread::Builder::new()
            .name(format!("{name}-serve-{index}"))
            .spawn(move || {
                let _ = ended.send(serve_thread(given, open, &*serve, &abort));
            })?;
    }
    drop(ended);
    tokio::spawn(accept(listener, lanes, stop_accepting, abort.clone()));
    let stop_on_drop = abort.drop_guard();
    Ok(async move {
        let _stop_on_drop = stop_on_drop;
        for _ in 0..threads {
            match results.recv().await {
                Some(Ok(())) => {}
                Some(Err(error)) => return Err(error),
                None => anyhow::bail!("a serving thread ended without a result"),
            }
        }
        Ok(())
    })
}

/// A serving thread, as the acceptor sees it.
struct Lane {
    give: mpsc::UnboundedSender<std::net::TcpStream>,
    /// Its open connections.
    open: Arc<AtomicUsize>,
}

/// Takes connections until told to stop, giving each to the lane with the fewest open.
async fn accept(
    listener: TcpListener,
    lanes: Vec<Lane>,
    stop_accepting: CancellationToken,
    abort: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stop_accepting.cancelled() => return,
            () = abort.cancelled() => return,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of descriptors or memory: wait rather than spin; the connection
                // that failed was never seen (its client retries).
                tracing::warn!(%error, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        // TCP_NODELAY: see `server::serve_routes`.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY; dropping the connection");
            continue;
        }
        let stream = match stream.into_std() {
            Ok(stream) => stream,
            Err(error) => {
                tracing::debug!(%error, "cannot hand a connection over; dropping it");
                continue;
            }
        };
        let Some(lane) = lanes
            .iter()
            .filter(|lane| !lane.give.is_closed())
            .min_by_key(|lane| lane.open.load(Ordering::Relaxed))
        else {
            return;
        };
        // Counted here, so a burst spreads before the threads have taken any.
        lane.open.fetch_add(1, Ordering::Relaxed);
        if let Err(mpsc::error::SendError(_)) = lane.give.send(stream) {
            lane.open.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// One serving thread's life: its runtime, the connections it is given, `serve` until it
/// ends or `abort` is cancelled. The runtime is dropped on return, and with it every task
/// (connection) still open.
fn serve_thread<M, F>(
    given: mpsc::UnboundedReceiver<std::net::TcpStream>,
    open: Arc<AtomicUsize>,
    serve: &M,
    abort: &CancellationToken,
) -> anyhow::Result<()>
where
    M: Fn(Incoming) -> F,
    F: Future<Output = Result<(), tonic::transport::Error>>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        // Each stream is registered with this thread's reactor as it is taken (polled
        // inside this runtime).
        let incoming = UnboundedReceiverStream::new(given).map(move |stream| {
            let counted = Counted(open.clone());
            Ok(Connection {
                stream: TcpStream::from_std(stream)?,
                _counted: counted,
            })
        });
        tokio::select! {
            result = serve(Box::pin(incoming)) => result.map_err(anyhow::Error::from),
            () = abort.cancelled() => Ok(()),
        }
    })
}

/// A connection given to a serving thread: a TCP stream that counts itself out of its
/// thread's open connections when dropped.
pub(crate) struct Connection {
    stream: TcpStream,
    _counted: Counted,
}

/// Takes one off a thread's count of open connections when dropped.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Connected for Connection {
    // The same as a plain TCP stream's, so request extensions look alike either way.
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.stream.connect_info()
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A stand-in for tonic's server: tells each connection the name of the thread serving
    /// it, then holds it open until the client closes it; ends when `stop` is cancelled.
    async fn name_thread(
        incoming: Incoming,
        stop: CancellationToken,
    ) -> Result<(), tonic::transport::Error> {
        let mut incoming = incoming;
        loop {
            let next = tokio::select! {
                next = incoming.next() => next,
                () = stop.cancelled() => return Ok(()),
            };
            let Some(Ok(mut connection)) = next else {
                return Ok(());
            };
            tokio::spawn(async move {
                let name = std::thread::current().name().unwrap_or("?").to_string();
                let _ = connection.write_all(format!("{name}\n").as_bytes()).await;
                let mut rest = Vec::new();
                let _ = connection.read_to_end(&mut rest).await;
            });
        }
    }

    /// Connects and reads the serving thread's name; the connection stays open.
    async fn ask(address: std::net::SocketAddr) -> (String, TcpStream) {
        let mut stream = TcpStream::connect(address).await.unwrap();
        let mut name = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            stream.read_exact(&mut byte).await.unwrap();
            if byte[0] == b'\n' {
                break;
            }
            name.push(byte[0]);
        }
        (String::from_utf8(name).unwrap(), stream)
    }

    async fn listener() -> (TcpListener, std::net::SocketAddr) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        (listener, address)
    }

    #[tokio::test]
    async fn each_connection_goes_to_the_thread_with_the_fewest_open() {
        let (listener, address) = listener().await;
        let stop = CancellationToken::new();
        let for_threads = stop.clone();
        let served = serve_on_threads("test", listener, 2, stop.clone(), move |incoming| {
            name_thread(incoming, for_threads.clone())
        })
        .unwrap();
        let served = tokio::spawn(served);

        let mut open = Vec::new();
        let mut names = std::collections::BTreeMap::<String, usize>::new();
        for _ in 0..6 {
            let (name, stream) = ask(address).await;
            *names.entry(name.clone()).or_default() += 1;
            open.push((name, stream));
        }
        let expected: std::collections::BTreeMap<String, usize> = [
            ("test-serve-0".to_string(), 3),
            ("test-serve-1".to_string(), 3),
        ]
        .into();
        assert_eq!(names, expected, "six open connections over two threads");
        // Closed connections count out: with two of thread 1's closed, the next two go
        // there.
        for _ in 0..2 {
            let index = open
                .iter()
                .position(|(name, _)| name == "test-serve-1")
                .unwrap();
            drop(open.remove(index));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        for _ in 0..2 {
            let (name, stream) = ask(address).await;
            assert_eq!(name, "test-serve-1");
            open.push((name, stream));
        }

        stop.cancel();
        let result = tokio::time::timeout(Duration::from_secs(5), served)
            .await
            .expect("the threads end once their servers do")
            .unwrap();
        assert!(result.is_ok(), "{result:?}");
        // The acceptor stopped with it: nothing accepts any more.
        assert!(TcpStream::connect(address).await.is_err());
    }

    #[tokio::test]
    async fn dropping_the_future_stops_the_threads_and_their_connections() {
        let (listener, address) = listener().await;
        // Servers that never stop by themselves.
        let served = serve_on_threads(
            "drop",
            listener,
            2,
            CancellationToken::new(),
            move |incoming| name_thread(incoming, CancellationToken::new()),
        )
        .unwrap();
        let (name, mut stream) = ask(address).await;
        assert!(name.starts_with("drop-serve-"), "{name}");
        drop(served);
        // Closed (an end of stream or a reset) rather than left hanging.
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest))
            .await
            .expect("the open connection is closed");
        assert!(rest.is_empty(), "{rest:?}");
        let mut refused = false;
        for _ in 0..100 {
            if TcpStream::connect(address).await.is_err() {
                refused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(refused, "the socket is still accepting after the drop");
    }
}
