//! The simulator's errors.

/// Why a run could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The scenario is malformed or asks for something the models cannot do.
    #[error("scenario: {0}")]
    Scenario(String),
    /// Reading the scenario or writing results failed.
    #[error("i/o: {0}")]
    Io(String),
    /// The topology could not be built (e.g. too few reachable nodes).
    #[error("topology: {0}")]
    Topology(String),
}
