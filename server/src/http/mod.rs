//! The HTTP layer: requests, responses, routing, the server loop, CORS and metrics.

pub mod cookie;
pub mod cors;
pub mod form;
pub mod metrics;
pub mod negotiate;
pub mod request;
pub mod response;
pub mod router;
pub mod server;

pub use request::Request;
pub use response::{Response, render_error};
pub use router::{Router, RouterBuilder};
