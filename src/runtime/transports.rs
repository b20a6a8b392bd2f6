//! Building the configured transports.
