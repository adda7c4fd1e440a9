//! Delivery: what moves records off the laptop and closes the loop, shared
//! by the command line and the screen. `export` turns the outbox into
//! signed bundles on the stick; `ack` takes a supervisor's receipt and
//! purges exactly the bundle it covers; `limits` bounds an export, `stick`
//! writes the bundle files safely and cleans up after an interrupted one;
//! `pack` takes a round pack onto the laptop (the other way).

pub mod ack;
pub mod export;
pub mod limits;
pub mod pack;
pub mod stick;
