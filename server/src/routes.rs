//! Every route of the public and admin APIs, registered by the module that owns it.

use crate::http::{Router, RouterBuilder};

pub fn public() -> Result<Router, String> {
    let mut r = RouterBuilder::default();
    crate::health::register_public(&mut r);
    crate::session::handlers::register_public(&mut r);
    crate::selfservice::login::register_public(&mut r);
    crate::selfservice::registration::register_public(&mut r);
    crate::selfservice::settings::register_public(&mut r);
    crate::selfservice::recovery::register_public(&mut r);
    crate::selfservice::verification::register_public(&mut r);
    crate::selfservice::logout::register_public(&mut r);
    crate::selfservice::errors::register_public(&mut r);
    crate::identity::schema::handler::register_public(&mut r);
    crate::identity::admin::register_public(&mut r);
    r.build()
}

pub fn admin() -> Result<Router, String> {
    let mut r = RouterBuilder::default();
    crate::health::register_admin(&mut r);
    crate::session::handlers::register_admin(&mut r);
    crate::selfservice::errors::register_admin(&mut r);
    crate::selfservice::recovery::register_admin(&mut r);
    crate::identity::schema::handler::register_admin(&mut r);
    crate::identity::admin::register_admin(&mut r);
    crate::courier::handlers::register_admin(&mut r);
    r.build()
}
