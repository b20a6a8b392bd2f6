//! weft-netsim: a deterministic discrete-event simulator that runs many real
//! `weft::p2p::Node` cores over modelled links, transports, chains and workloads.
//!
//! The same scenario and seed give the same trace hash: every random draw comes from
//! a seeded per-node, per-link or workload stream, and events run in (time, sequence)
//! order.

pub mod bitset;
pub mod chain;
pub mod compare;
pub mod cost;
pub mod dist;
pub mod error;
pub mod events;
pub mod idhash;
pub mod link;
pub mod metrics;
pub mod observe;
pub mod plot;
pub mod real;
pub mod recent_map;
pub mod region;
pub mod report;
pub mod scenario;
pub mod sched;
pub mod sim;
pub mod spy;
pub mod topology;
pub mod workload;
pub mod world;

pub use error::SimError;
pub use scenario::Scenario;
pub use sim::Sim;
