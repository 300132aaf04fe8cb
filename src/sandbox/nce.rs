//! New-commerce routes (partner-center-api.md §10): products, SKUs, availabilities, carts
//! and checkout.

use axum::Router;
use std::sync::Arc;

use super::server::App;

/// Adds the new-commerce routes to the `/v1` router.
pub fn routes(r: Router<Arc<App>>) -> Router<Arc<App>> {
    r
}
