//! `nuts-wallet-as`: run the reference authorization server, or make a development PKI.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "nuts-wallet-as",
    version,
    about = "Reference Nuts v6 authorization server (for testing)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the AS (HTTPS).
    Serve {
        /// The TOML configuration file.
        #[arg(long, short)]
        config: PathBuf,
        /// Override the listen address.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Override the public base URL.
        #[arg(long)]
        base_url: Option<url::Url>,
        /// Development mode for outbound requests (localhost / loopback allowed).
        #[arg(long)]
        dev: bool,
        /// Extra CA (PEM) trusted for outbound HTTPS.
        #[arg(long)]
        ca_file: Option<PathBuf>,
    },
    /// Create a development CA, a server certificate and an example `as.toml`.
    DevCa {
        /// Output directory.
        #[arg(long, default_value = "as-dev")]
        out: PathBuf,
        /// Host names / IPs for the server certificate (first one goes into base_url).
        #[arg(long = "host", default_values_t = ["localhost".to_string(), "127.0.0.1".to_string()])]
        hosts: Vec<String>,
        /// Port for the example configuration.
        #[arg(long, default_value_t = 8443)]
        port: u16,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::DevCa { out, hosts, port } => {
            wallet_as::devca::write(&out, &hosts, port).map(|files| {
                for f in files {
                    println!("wrote {}", f.display());
                }
                println!(
                    "Trust {} in the wallet (--ca-file / NUTS_WALLET_CA_FILE) and put Nuts policy files in {}",
                    out.join("ca.pem").display(),
                    out.join("policies").display()
                );
            })
        }
        Command::Serve {
            config,
            listen,
            base_url,
            dev,
            ca_file,
        } => wallet_as::Config::load(&config).and_then(|mut cfg| {
            if let Some(l) = listen {
                cfg.listen = l;
            }
            if let Some(b) = base_url {
                cfg.base_url = b;
            }
            cfg.dev |= dev;
            if ca_file.is_some() {
                cfg.ca_file = ca_file;
            }
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                tokio::select! {
                    r = wallet_as::run(&cfg) => r,
                    _ = tokio::signal::ctrl_c() => Ok(()),
                }
            })
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nuts-wallet-as: {e}");
            ExitCode::FAILURE
        }
    }
}
