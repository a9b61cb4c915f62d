use server::{Application, Config};
use tracing_subscriber::EnvFilter;

/// mimalloc hands freed memory back to the system: every password hash takes 19 MiB, and
/// with glibc's allocator each blocking thread that ever hashed kept its share for good.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    // A missing .env is normal; a broken one is worth saying.
    if let Err(e) = dotenvy::dotenv()
        && !e.not_found()
    {
        eprintln!("ignoring .env: {e}");
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("configuration error: {e}");
            std::process::exit(2);
        }
    };
    let logs = tracing_subscriber::fmt().with_env_filter(EnvFilter::new(&config.log_filter));
    if config.log_json {
        logs.json().init()
    } else {
        logs.init()
    }
    let public_url = config.public_url.clone();
    let shutdown = shutdown_signal();
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("start-up failed: {e:#}");
            std::process::exit(1);
        }
    };
    println!("Messenger is running on {public_url}");
    if let Err(e) = app.run_until(shutdown).await {
        eprintln!("server error: {e}");
        std::process::exit(1);
    }
    tracing::info!("stopped");
}

/// Resolves on SIGTERM or Ctrl-C. The handlers are installed when this is called (not
/// when it is first polled), so a signal that comes right after start-up is not lost.
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let (mut terminate, mut interrupt) = {
        use tokio::signal::unix::{SignalKind, signal};
        (signal(SignalKind::terminate()).ok(), signal(SignalKind::interrupt()).ok())
    };
    async move {
        #[cfg(unix)]
        {
            let terminate = async {
                match terminate.as_mut() {
                    Some(s) => drop(s.recv().await),
                    None => std::future::pending().await,
                }
            };
            let interrupt = async {
                match interrupt.as_mut() {
                    Some(s) => drop(s.recv().await),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = terminate => {},
                () = interrupt => {},
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down: finishing requests under way");
    }
}
