use server::{Application, Config};
use tracing_subscriber::EnvFilter;

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
    tracing_subscriber::fmt().with_env_filter(EnvFilter::new(&config.log_filter)).init();
    let public_url = config.public_url.clone();
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("start-up failed: {e:#}");
            std::process::exit(1);
        }
    };
    println!("Messenger is running on {public_url}");
    if let Err(e) = app.run_until(shutdown_signal()).await {
        eprintln!("server error: {e}");
        std::process::exit(1);
    }
    tracing::info!("stopped");
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests under way");
}
