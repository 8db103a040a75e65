//! Sessions: the model, issuing and checking them (cookie and token), and their endpoints.

pub mod cache;
pub mod handlers;
pub mod manager;
pub mod model;

pub use model::{Aal, AuthenticationMethod, Session};
