//! The form engine: XLSForm semantics over forms written in TOML or as
//! XLSForm workbooks. It owns
//! the form model, loading and checking, the expression language, and the
//! session that fills one record. It never touches sled, zip or a terminal;
//! commands and the TUI depend on it, never the other way round.

pub mod answer;
pub mod dates;
pub mod error;
pub mod eval;
pub mod expr;
pub mod lao;
pub mod limits;
pub mod load;
pub mod model;
pub mod search;
pub mod session;
pub mod xlsform;

pub use error::FormError;
pub use load::{load, load_str};
pub use model::{Form, Kind, NodeId};
pub use session::{Env, Pos, Screen, Session, Violation, ViolationKind};
