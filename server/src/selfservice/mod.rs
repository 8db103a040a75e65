//! Self-service flows: the engine (`flow`), one module per flow, and the methods (`strategy`).

pub mod errors;
pub mod flow;
pub mod login;
pub mod logout;
pub mod recovery;
pub mod registration;
pub mod settings;
pub mod strategy;
pub mod verification;
