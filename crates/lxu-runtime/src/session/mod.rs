//! Ways into a running container: a command (`attach`) or a terminal (`console`).

pub mod attach;
pub mod console;
pub(crate) mod terminal;
