//! `tracing` set-up with Core-like debug categories (`-debug=net`).

use tracing_subscriber::EnvFilter;

/// Categories weft logs under, as `tracing` targets.
pub const CATEGORIES: [&str; 4] = ["net", "validation", "mempool", "rpc"];

/// Builds the filter: info everywhere, debug for the chosen categories. `RUST_LOG`
/// overrides everything when set.
pub fn filter(debug: &[String]) -> Result<EnvFilter, String> {
    if let Ok(env) = std::env::var("RUST_LOG") {
        return EnvFilter::try_new(env).map_err(|e| format!("RUST_LOG: {e}"));
    }
    let mut directives = vec!["info".to_string()];
    for cat in debug {
        match cat.as_str() {
            "1" | "all" => directives.extend(CATEGORIES.iter().map(|c| format!("{c}=debug"))),
            "0" | "none" => {}
            c if CATEGORIES.contains(&c) => directives.push(format!("{c}=debug")),
            other => return Err(format!("Unsupported logging category -debug={other}.")),
        }
    }
    EnvFilter::try_new(directives.join(",")).map_err(|e| e.to_string())
}

/// Installs the subscriber, writing to stderr.
pub fn init(debug: &[String]) -> Result<(), String> {
    let filter = filter(debug)?;
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(true)
        .init();
    Ok(())
}
