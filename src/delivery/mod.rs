//! Delivery: what moves records off the laptop and closes the loop, shared
//! by the command line and the screen. `export` turns the outbox into
//! signed bundles on the stick; `ack` takes a supervisor's receipt and
//! purges exactly the bundle it covers.

pub mod ack;
pub mod export;
