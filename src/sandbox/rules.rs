//! The emulated business rules of Partner Center, as methods of [`SandboxState`]: who may
//! trade with whom, what an order, a cart, a checkout, a subscription PATCH and a licence
//! update check and change, and how the clock moves.
//!
//! The main decision: a rule takes a typed request ([`super::requests`]) and the catalog,
//! checks everything *before* changing anything, and reports each change it makes through
//! [`SandboxState::changed`] — the one hook the durable change log (`persist`) listens
//! to. So a rule is all-or-nothing, the routes stay thin (parse, lock, call, shape the
//! answer), and nothing can change the state without the change log hearing of it.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use chrono::{DateTime, Duration, Months, Utc};
use serde_json::{Value, json};

use super::catalog::{Catalog, LegacyOffer, NceSku, is_guid, offers_term};
use super::requests::{
    AgreementRequest, CartLineRequest, CartRequest, ClockRequest, LicenseUpdate, OrderLineRequest,
    OrderRequest, SubscriptionPatch,
};
use super::state::{Cart, CartLine, Change, Order, OrderLine, SandboxState, Subscription, Tenant};
use super::wire::{ApiError, enum_key, new_guid, new_order_id_nce, ts};

/// Days a cart stays usable (2023 NCE sample: creation + 7 days).
pub const CART_DAYS: i64 = 7;
/// Days a new-commerce subscription may be cancelled or reduced.
pub const NCE_WINDOW_DAYS: i64 = 7;

fn tenant_not_found(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        60003,
        format!("Tenant {id} not found."),
    )
}

fn user_not_found(uid: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        60002,
        format!("User {uid} not found."),
    )
}

fn cart_not_found(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        800008,
        format!("Cart {id} was not found."),
    )
}

/// 403 `2091`: the legacy offer can no longer be bought (partner-center-api.md §5, §11).
/// As Partner Center does for a blocked legacy offer, the message names the equivalent
/// new-commerce item when the catalog has one.
fn offer_no_longer_available(offer: &LegacyOffer, cat: &Catalog) -> ApiError {
    let equivalent = cat.nce_for_sku(&offer.sku_id);
    let mut err = ApiError::new(
        StatusCode::FORBIDDEN,
        2091,
        match equivalent {
            Some(sku) => format!(
                "The offer {} ({}) is no longer available for purchase. Buy the new-commerce product {} SKU {} (catalog item {}) through a cart instead.",
                offer.id,
                offer.name,
                sku.product_id,
                sku.sku_id,
                sku.catalog_item_id()
            ),
            None => format!(
                "The offer {} ({}) is no longer available for purchase.",
                offer.id, offer.name
            ),
        },
    );
    if let Some(sku) = equivalent {
        err = err
            .with_data(format!("productId : {}", sku.product_id))
            .with_data(format!("skuId : {}", sku.sku_id))
            .with_data(format!("availabilityId : {}", sku.availability_id));
    }
    err
}

/// The subscription and order line a legacy order (new or patched) creates for one
/// requested line: active, `P1Y`, ending twelve months from `now` at midnight.
fn legacy_line(
    line: &OrderLineRequest,
    offer: &LegacyOffer,
    order_id: &str,
    billing_cycle: &str,
    number: i64,
    now: DateTime<Utc>,
) -> (Subscription, OrderLine) {
    let end = (now.date_naive() + Months::new(12))
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc();
    let sid = new_guid();
    let sub = Subscription {
        id: sid.clone(),
        offer_id: offer.id.clone(),
        offer_name: offer.name.clone(),
        friendly_name: line
            .friendly_name
            .clone()
            .unwrap_or_else(|| offer.name.clone()),
        quantity: line.quantity as u64,
        min_quantity: offer.min_quantity,
        max_quantity: offer.max_quantity,
        sku_id: offer.sku_id.to_ascii_lowercase(),
        status: "active".into(),
        auto_renew_enabled: true,
        billing_cycle: billing_cycle.to_string(),
        term_duration: "P1Y".into(),
        order_id: order_id.to_string(),
        parent_subscription_id: line.parent_subscription_id.clone(),
        creation_date: now,
        commitment_end_date: end,
        nce: false,
        revision: 0,
    };
    let order_line = OrderLine {
        line_item_number: number,
        offer_id: offer.id.clone(),
        subscription_id: Some(sid),
        friendly_name: line.friendly_name.clone(),
        quantity: line.quantity as u64,
        term_duration: None,
        parent_subscription_id: line.parent_subscription_id.clone(),
    };
    (sub, order_line)
}

impl SandboxState {
    /// A customer the partner may trade with: known and accepted, else 403 `20002`.
    pub fn related(&self, id: &str) -> Result<&Tenant, ApiError> {
        self.customers
            .get(&id.to_ascii_lowercase())
            .filter(|t| t.accepted)
            .ok_or_else(ApiError::no_relationship)
    }

    fn related_mut(&mut self, id: &str) -> Result<&mut Tenant, ApiError> {
        self.customers
            .get_mut(&id.to_ascii_lowercase())
            .filter(|t| t.accepted)
            .ok_or_else(ApiError::no_relationship)
    }

    /// The tenant behind a user or licence call: unknown → 404 `60003`, unrelated → 403
    /// `20002`.
    pub fn directory(&self, id: &str) -> Result<&Tenant, ApiError> {
        match self.customers.get(&id.to_ascii_lowercase()) {
            None => Err(tenant_not_found(id)),
            Some(t) if !t.accepted => Err(ApiError::no_relationship()),
            Some(t) => Ok(t),
        }
    }

    /// `POST /sandbox/customers/{id}/accept`: the customer's admin accepts the invitation.
    /// Returns the tenant id, or `None` for an unknown tenant.
    pub fn accept(&mut self, id: &str) -> Option<String> {
        let t = self.customers.get_mut(&id.to_ascii_lowercase())?;
        t.accepted = true;
        let id = t.id.clone();
        self.changed(Change::Tenant(id.clone()));
        Some(id)
    }

    /// `POST /sandbox/clock`: moves the clock forward, never back.
    pub fn set_clock(&mut self, req: &ClockRequest) -> Result<(), ApiError> {
        let now = self.now();
        let target = match req {
            ClockRequest::AdvanceDays(days) => now
                .checked_add_signed(Duration::days(*days))
                .ok_or_else(|| ApiError::bad_input("The sandbox clock cannot go that far."))?,
            ClockRequest::At(t) => *t,
        };
        if target < now {
            return Err(ApiError::bad_input("The sandbox clock only moves forward."));
        }
        self.clock_offset_seconds = (target - Utc::now()).num_seconds();
        self.changed(Change::Clock);
        Ok(())
    }

    /// `POST /v1/customers/{id}/agreements`: records that the customer accepted the MCA.
    pub fn add_agreement(&mut self, cid: &str, req: &AgreementRequest) -> Result<Value, ApiError> {
        let tenant = self.related_mut(cid)?;
        let mut out = json!({
            "primaryContact": {"firstName": req.first_name, "lastName": req.last_name, "email": req.email},
            "templateId": req.template_id,
            "dateAgreed": req.date_agreed,
            "type": req.kind,
            "agreementLink": "https://aka.ms/customeragreement",
            "attributes": {"objectType": "Agreement"},
        });
        if let Some(phone) = &req.phone {
            out["primaryContact"]["phoneNumber"] = json!(phone);
        }
        tenant.agreements.push(out.clone());
        let id = tenant.id.clone();
        self.changed(Change::Tenant(id));
        Ok(out)
    }

    /// `POST /v1/customers/{id}/orders` (§5, §9 item 4): one subscription per line, seats
    /// added to the pool of the offer's SKU. An order already placed under this
    /// `MS-RequestId` is returned again (belt and braces behind the replay layer: the
    /// process may have died between recording the order and recording its answer).
    pub fn place_order(
        &mut self,
        cat: &Catalog,
        sell_deprecated: bool,
        cid: &str,
        request_id: Option<&str>,
        req: &OrderRequest,
    ) -> Result<Order, ApiError> {
        let tenant = self.related(cid)?;
        if let Some(rid) = request_id
            && let Some(order) = tenant
                .orders
                .iter()
                .find(|o| o.request_id.as_deref() == Some(rid) && !o.nce)
        {
            return Ok(order.clone());
        }
        let mut offers: Vec<&LegacyOffer> = Vec::with_capacity(req.lines.len());
        for line in &req.lines {
            let offer = cat.offer(&line.offer_id).ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    800004,
                    format!("The offer ID {} is not valid.", line.offer_id),
                )
            })?;
            if line.quantity < offer.min_quantity as i64
                || line.quantity > offer.max_quantity as i64
            {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    900275,
                    format!(
                        "Quantity {} is not allowed for offer {}: it must be between {} and {}.",
                        line.quantity, offer.id, offer.min_quantity, offer.max_quantity
                    ),
                ));
            }
            offers.push(offer);
        }
        let numbers: BTreeSet<i64> = req.lines.iter().map(|l| l.number).collect();
        if numbers.len() != req.lines.len() || numbers.iter().copied().ne(0..req.lines.len() as i64)
        {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                800071,
                "Line item numbers must run 0…n-1 without repeats.",
            ));
        }
        let now = self.now();
        for offer in &offers {
            // Today's rule: a deprecated legacy offer is never bought anew (§11).
            if offer.deprecated && !sell_deprecated {
                return Err(offer_no_longer_available(offer, cat));
            }
            if offer.is_add_on {
                // The documented path of a legacy add-on is a PATCH of the order that
                // bought its parent subscription (partner-center-api.md §5).
                return Err(ApiError::bad_input(format!(
                    "Offer {} is an add-on: buy it by patching the order of its parent subscription (PATCH /v1/customers/{{id}}/orders/{{orderId}} with parentSubscriptionId), not in a new order.",
                    offer.id
                )));
            }
            if offer.limit > 0 {
                let owned = tenant
                    .subscriptions
                    .iter()
                    .filter(|s| {
                        s.offer_id.eq_ignore_ascii_case(&offer.id)
                            && s.effective_status(now) == "active"
                    })
                    .count() as u64;
                let asked = offers.iter().filter(|x| x.id == offer.id).count() as u64;
                if owned + asked > offer.limit {
                    return Err(ApiError::new(
                        StatusCode::FORBIDDEN,
                        800066,
                        format!(
                            "The customer may own at most {} subscriptions of offer {} at a time.",
                            offer.limit, offer.id
                        ),
                    ));
                }
            }
        }

        let order_id = new_guid();
        let mut subs = Vec::new();
        let mut order_lines = Vec::new();
        for (line, offer) in req.lines.iter().zip(&offers) {
            let (sub, order_line) =
                legacy_line(line, offer, &order_id, &req.billing_cycle, line.number, now);
            subs.push(sub);
            order_lines.push(order_line);
        }
        order_lines.sort_by_key(|l| l.line_item_number);
        let order = Order {
            id: order_id,
            request_id: request_id.map(str::to_string),
            billing_cycle: req.billing_cycle.clone(),
            line_items: order_lines,
            creation_date: now,
            status: "completed".into(),
            nce: false,
        };
        let tenant = self.related_mut(cid)?;
        let tid = tenant.id.clone();
        let sub_ids: Vec<String> = subs.iter().map(|s| s.id.clone()).collect();
        tenant.subscriptions.extend(subs);
        tenant.orders.push(order.clone());
        for sid in sub_ids {
            self.changed(Change::Subscription(tid.clone(), sid));
        }
        self.changed(Change::Order(tid, order.id.clone()));
        Ok(order)
    }

    /// `PATCH /v1/customers/{id}/orders/{orderId}` (§5, "purchase an add-on to a
    /// subscription"): adds legacy add-on lines to the order that bought their parent
    /// subscription. Every line must be an add-on whose `parentSubscriptionId` is an
    /// active subscription of this order to one of its prerequisite offers; each becomes
    /// a subscription of this order (seats in its SKU's pool) and a line item numbered
    /// after the order's others. Returns the updated order (200). A new-commerce order
    /// is never patched: a new-commerce add-on is a cart line.
    pub fn patch_order(
        &mut self,
        cat: &Catalog,
        sell_deprecated: bool,
        cid: &str,
        oid: &str,
        req: &OrderRequest,
    ) -> Result<Order, ApiError> {
        let now = self.now();
        let tenant = self.related(cid)?;
        let order = tenant
            .orders
            .iter()
            .find(|o| o.id.eq_ignore_ascii_case(oid))
            .ok_or_else(|| ApiError::not_found("Order"))?;
        if order.nce {
            return Err(ApiError::bad_input(format!(
                "Order {} is a new-commerce order: add-ons of new commerce are bought as cart lines, not by patching the order.",
                order.id
            )));
        }
        let numbers: BTreeSet<i64> = req.lines.iter().map(|l| l.number).collect();
        if numbers.len() != req.lines.len() || numbers.iter().copied().ne(0..req.lines.len() as i64)
        {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                800071,
                "Line item numbers must run 0…n-1 without repeats.",
            ));
        }
        let mut offers: Vec<&LegacyOffer> = Vec::with_capacity(req.lines.len());
        for line in &req.lines {
            let offer = cat.offer(&line.offer_id).ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    800004,
                    format!("The offer ID {} is not valid.", line.offer_id),
                )
            })?;
            if !offer.is_add_on {
                return Err(ApiError::bad_input(format!(
                    "Offer {} is not an add-on: only add-ons can be added to an existing order.",
                    offer.id
                )));
            }
            if line.quantity < offer.min_quantity as i64
                || line.quantity > offer.max_quantity as i64
            {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    900275,
                    format!(
                        "Quantity {} is not allowed for offer {}: it must be between {} and {}.",
                        line.quantity, offer.id, offer.min_quantity, offer.max_quantity
                    ),
                ));
            }
            let parent = line
                .parent_subscription_id
                .as_deref()
                .and_then(|p| tenant.subscription(p))
                .filter(|p| p.order_id.eq_ignore_ascii_case(&order.id));
            let parent_ok = parent.is_some_and(|p| {
                p.effective_status(now) == "active"
                    && offer
                        .prerequisite_offers
                        .iter()
                        .any(|o| o.eq_ignore_ascii_case(&p.offer_id))
            });
            if !parent_ok {
                return Err(ApiError::bad_input(format!(
                    "Add-on offer {} needs parentSubscriptionId of an active subscription of order {} to one of its prerequisite offers.",
                    offer.id, order.id
                )));
            }
            // Today's rule: a deprecated legacy offer is never bought anew (§11).
            if offer.deprecated && !sell_deprecated {
                return Err(offer_no_longer_available(offer, cat));
            }
            offers.push(offer);
        }
        let first_number = order
            .line_items
            .iter()
            .map(|l| l.line_item_number + 1)
            .max()
            .unwrap_or(0);
        let billing_cycle = order.billing_cycle.clone();
        let order_id = order.id.clone();
        let mut subs = Vec::new();
        let mut order_lines = Vec::new();
        for (i, (line, offer)) in req.lines.iter().zip(&offers).enumerate() {
            let (sub, order_line) = legacy_line(
                line,
                offer,
                &order_id,
                &billing_cycle,
                first_number + i as i64,
                now,
            );
            subs.push(sub);
            order_lines.push(order_line);
        }
        let tenant = self.related_mut(cid)?;
        let tid = tenant.id.clone();
        let sub_ids: Vec<String> = subs.iter().map(|s| s.id.clone()).collect();
        tenant.subscriptions.extend(subs);
        let order = tenant
            .orders
            .iter_mut()
            .find(|o| o.id == order_id)
            .expect("checked above");
        order.line_items.extend(order_lines);
        let order = order.clone();
        for sid in sub_ids {
            self.changed(Change::Subscription(tid.clone(), sid));
        }
        self.changed(Change::Order(tid, order.id.clone()));
        Ok(order)
    }

    /// `PATCH …/subscriptions/{sid}` with the whole subscription (§6).
    pub fn patch_subscription(
        &mut self,
        cid: &str,
        sid: &str,
        if_match: Option<&str>,
        patch: &SubscriptionPatch,
    ) -> Result<Subscription, ApiError> {
        let now = self.now();
        let tenant = self.related_mut(cid)?;
        let tid = tenant.id.clone();
        let Some(sub) = tenant.subscription_mut(sid) else {
            return Err(ApiError::not_found("Subscription"));
        };
        if let Some(etag) = if_match {
            let given = etag.trim().trim_start_matches("W/").trim_matches('"');
            if given != sub.etag() {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    2055,
                    "The etag does not match: GET the subscription again and retry.",
                ));
            }
        }
        if sub.status == "deleted" {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                2011,
                "A deleted subscription cannot be updated.",
            ));
        }
        if sub.effective_status(now) == "expired" {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                900277,
                "The subscription has expired and cannot be updated.",
            ));
        }
        let quantity = patch.quantity.unwrap_or(sub.quantity as i64);
        if quantity < sub.min_quantity as i64 || quantity > sub.max_quantity as i64 {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                2002,
                format!(
                    "Quantity {quantity} is out of range: it must be between {} and {}.",
                    sub.min_quantity, sub.max_quantity
                ),
            ));
        }
        let quantity = quantity as u64;
        let status = match patch.status.as_deref() {
            None => sub.status.clone(),
            Some(s) => match enum_key(s).as_str() {
                "active" => "active".to_string(),
                "suspended" => "suspended".to_string(),
                "deleted" if sub.nce => "deleted".to_string(),
                "deleted" => {
                    return Err(ApiError::bad_input(
                        "A license-based subscription is cancelled by suspending it (status \"suspended\").",
                    ));
                }
                _ if enum_key(s) == enum_key(&sub.status) => sub.status.clone(),
                _ => {
                    return Err(ApiError::bad_input(format!(
                        "Status {s:?} cannot be set on a subscription."
                    )));
                }
            },
        };
        if sub.nce && now > sub.creation_date + Duration::days(NCE_WINDOW_DAYS) {
            if status == "deleted" {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    900117,
                    "The cancellation window of this subscription has passed.",
                ));
            }
            if quantity < sub.quantity {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    800090,
                    "Subscription quantity cannot be decreased.",
                ));
            }
        }
        sub.quantity = quantity;
        sub.status = status;
        sub.auto_renew_enabled = patch.auto_renew_enabled;
        if let Some(name) = &patch.friendly_name {
            sub.friendly_name = name.clone();
        }
        sub.revision += 1;
        let sub = sub.clone();
        self.changed(Change::Subscription(tid, sub.id.clone()));
        Ok(sub)
    }

    /// `POST …/users/{uid}/licenseupdates`: removes first, then assigns (our choice, §9
    /// item 5), all or nothing; 400 `60012` when any assigned SKU has no unit left. A unit
    /// freed by the removal of one SKU never pays for another, but re-assigning what is
    /// removed is allowed. Returns the assigned skuIds.
    pub fn update_licenses(
        &mut self,
        cat: &Catalog,
        cid: &str,
        uid: &str,
        upd: &LicenseUpdate,
    ) -> Result<(), ApiError> {
        let now = self.now();
        let t = self.directory(cid)?;
        let uid = uid.to_ascii_lowercase();
        let user = t.users.get(&uid).ok_or_else(|| user_not_found(&uid))?;
        let mut after = user.licenses.clone();
        for sku in &upd.remove {
            after.remove(sku);
        }
        for sku in &upd.assign {
            if after.contains(sku) {
                continue;
            }
            let freed = u64::from(user.licenses.contains(sku));
            let available = t.pool(sku, now).map(|p| p.available() + freed).unwrap_or(0);
            if available == 0 {
                let name = cat.sku_info(sku).name;
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    60012,
                    format!("Your organization has run out of licenses for {name}: assign fewer or buy more."),
                )
                .with_data(format!(
                    "LicenseQuotaExceededException : Not enough available units of SKU {sku} to assign to user {uid}."
                )));
            }
            after.insert(sku.clone());
        }
        let tid = t.id.clone();
        let tenant = self.customers.get_mut(&tid).expect("checked above");
        tenant.users.get_mut(&uid).expect("checked above").licenses = after;
        self.changed(Change::User(tid, uid));
        Ok(())
    }

    /// `POST …/carts`: a new `Active` cart; bad lines carry their error (§10.6 item 2).
    pub fn create_cart(
        &mut self,
        cat: &Catalog,
        cid: &str,
        req: &CartRequest,
    ) -> Result<Cart, ApiError> {
        self.related(cid)?;
        let now = self.now();
        let cart = Cart {
            id: new_guid(),
            status: "Active".into(),
            creation: now,
            last_modified: now,
            expiration: now + Duration::days(CART_DAYS),
            line_items: req.lines.iter().map(|l| cart_line(cat, l)).collect(),
            checkout_result: None,
        };
        let t = self.related_mut(cid)?;
        t.carts.push(cart.clone());
        let tid = t.id.clone();
        self.changed(Change::Cart(tid, cart.id.clone()));
        Ok(cart)
    }

    /// An `Active` cart past its expiry is gone.
    pub fn cart(&self, cid: &str, id: &str) -> Result<&Cart, ApiError> {
        let now = self.now();
        self.related(cid)?
            .carts
            .iter()
            .find(|c| c.id.eq_ignore_ascii_case(id))
            .filter(|c| c.status == "Ordered" || c.expiration > now)
            .ok_or_else(|| cart_not_found(id))
    }

    fn cart_mut(&mut self, cid: &str, id: &str) -> Result<&mut Cart, ApiError> {
        let now = self.now();
        self.related_mut(cid)?
            .carts
            .iter_mut()
            .find(|c| c.id.eq_ignore_ascii_case(id))
            .filter(|c| c.status == "Ordered" || c.expiration > now)
            .ok_or_else(|| cart_not_found(id))
    }

    /// `PUT …/carts/{id}` with the whole cart; 400 `800065` once it is ordered.
    pub fn update_cart(
        &mut self,
        cat: &Catalog,
        cid: &str,
        id: &str,
        req: &CartRequest,
    ) -> Result<Cart, ApiError> {
        let now = self.now();
        let lines = req.lines.iter().map(|l| cart_line(cat, l)).collect();
        let cart = self.cart_mut(cid, id)?;
        if cart.status == "Ordered" {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                800065,
                "The cart has already been submitted.",
            ));
        }
        cart.line_items = lines;
        cart.last_modified = now;
        let cart = cart.clone();
        let tid = cid.to_ascii_lowercase();
        self.changed(Change::Cart(tid, cart.id.clone()));
        Ok(cart)
    }

    /// `POST …/carts/{id}/checkout` → the `CartCheckoutResult`. A checked-out cart returns
    /// its first result (checkout is idempotent per cart, §10.5); a line with an error
    /// refuses the whole cart (400 `800009`); more concurrent subscriptions of a SKU than
    /// its ownership limit is an `orderErrors` entry `800089` and no order.
    pub fn checkout(
        &mut self,
        cat: &Catalog,
        cid: &str,
        cart_id: &str,
        request_id: Option<&str>,
    ) -> Result<Value, ApiError> {
        let now = self.now();
        let cart = self.cart(cid, cart_id)?.clone();
        if let Some(result) = &cart.checkout_result {
            return Ok(result.clone());
        }
        if let Some(bad) = cart.line_items.iter().find(|l| l.error.is_some()) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                800009,
                format!("Error in cart item(s): line {} is not valid.", bad.id),
            ));
        }
        let skus: Vec<&NceSku> = cart
            .line_items
            .iter()
            .map(|l| cat.nce_item(&l.catalog_item_id).expect("validated line"))
            .collect();
        let t = self.related(cid)?;
        // Every line shares order group "0": one order, or one orderErrors entry.
        if let Some(error) = ownership_limit_error(t, &skus, now) {
            let result = json!({"orders": [], "orderErrors": [error], "attributes": {"objectType": "CartCheckoutResult"}});
            return Ok(result);
        }

        let order_id = new_order_id_nce();
        let mut subs = Vec::new();
        let mut order_lines = Vec::new();
        for (n, (line, sku)) in cart.line_items.iter().zip(&skus).enumerate() {
            let term = line.term_duration.clone().unwrap_or_else(|| "P1Y".into());
            let months = match term.as_str() {
                "P1M" => 1,
                "P3Y" => 36,
                _ => 12,
            };
            let start = now.date_naive();
            let end = (start + Months::new(months) - Duration::days(1))
                .and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc();
            let sid = new_guid();
            subs.push(Subscription {
                id: sid.clone(),
                offer_id: sku.catalog_item_id(),
                offer_name: sku.sku_title.clone(),
                friendly_name: line
                    .friendly_name
                    .clone()
                    .unwrap_or_else(|| sku.sku_title.clone()),
                quantity: line.quantity,
                min_quantity: sku.min_quantity,
                max_quantity: sku.max_quantity,
                sku_id: sku.provisioning_id.to_ascii_lowercase(),
                status: "active".into(),
                auto_renew_enabled: true,
                billing_cycle: line.billing_cycle.clone(),
                term_duration: term.clone(),
                order_id: order_id.clone(),
                parent_subscription_id: None,
                creation_date: now,
                commitment_end_date: end,
                nce: true,
                revision: 0,
            });
            order_lines.push(OrderLine {
                line_item_number: n as i64,
                offer_id: sku.catalog_item_id(),
                subscription_id: Some(sid),
                friendly_name: line
                    .friendly_name
                    .clone()
                    .or_else(|| Some(sku.sku_title.clone())),
                quantity: line.quantity,
                term_duration: Some(term),
                parent_subscription_id: None,
            });
        }
        let order = Order {
            id: order_id,
            request_id: request_id.map(str::to_string),
            billing_cycle: cart
                .line_items
                .first()
                .map(|l| l.billing_cycle.clone())
                .unwrap_or_else(|| "monthly".into()),
            line_items: order_lines,
            creation_date: now,
            status: "completed".into(),
            nce: true,
        };
        let mut order_out = super::state::order_json(t, &order);
        // A fresh order reads `pending` in the checkout answer, as in the docs' sample.
        order_out["status"] = json!("pending");
        let total: f64 = cart
            .line_items
            .iter()
            .map(|l| l.list_price * l.quantity as f64)
            .sum();
        order_out["totalPrice"] = json!(total);
        let result = json!({"orders": [order_out], "orderErrors": [], "attributes": {"objectType": "CartCheckoutResult"}});

        let t = self.related_mut(cid)?;
        let tid = t.id.clone();
        let sub_ids: Vec<String> = subs.iter().map(|s| s.id.clone()).collect();
        t.subscriptions.extend(subs);
        let oid = order.id.clone();
        t.orders.push(order);
        if let Some(c) = t.carts.iter_mut().find(|c| c.id == cart.id) {
            c.status = "Ordered".into();
            c.last_modified = now;
            c.checkout_result = Some(result.clone());
        }
        for sid in sub_ids {
            self.changed(Change::Subscription(tid.clone(), sid));
        }
        self.changed(Change::Order(tid.clone(), oid));
        self.changed(Change::Cart(tid, cart.id.clone()));
        Ok(result)
    }
}

/// The `orderErrors` entry `800089` when buying these SKUs would take the customer over a
/// SKU's ownership limit (Business SKUs: 2 concurrent subscriptions).
fn ownership_limit_error(t: &Tenant, skus: &[&NceSku], now: DateTime<Utc>) -> Option<Value> {
    for sku in skus {
        let Some(limit) = sku.asset_limit else {
            continue;
        };
        let prefix = format!("{}:{}:", sku.product_id, sku.sku_id).to_ascii_uppercase();
        let owned = t
            .subscriptions
            .iter()
            .filter(|s| {
                s.offer_id.to_ascii_uppercase().starts_with(&prefix)
                    && s.effective_status(now) == "active"
            })
            .count() as u64;
        let asked = skus
            .iter()
            .filter(|s| s.product_id == sku.product_id && s.sku_id == sku.sku_id)
            .count() as u64;
        if owned + asked > limit {
            return Some(json!({
                "orderGroupId": "0",
                "code": 800089,
                "description": format!(
                    "The requested number of {asked} asset(s) exceeded the remaining limit of {} assets allowed per customer.",
                    limit.saturating_sub(owned)
                ),
            }));
        }
    }
    None
}

/// Validates one cart line against the catalog: the line keeps its error instead of
/// failing the request (§10.6 item 2).
fn cart_line(cat: &Catalog, line: &CartLineRequest) -> CartLine {
    let item = line.catalog_item_id.as_str();
    let sku = cat.nce_item(item);
    let error = if is_guid(item) && cat.offer(item).is_some() {
        Some((
            500600,
            "Legacy offers are not eligible for purchase in a cart.".to_string(),
        ))
    } else if let Some(sku) = sku {
        if line.quantity > sku.max_quantity {
            Some((
                10015,
                format!(
                    "At most {} seats per subscription of {item}.",
                    sku.max_quantity
                ),
            ))
        } else if line.quantity < sku.min_quantity {
            Some((
                10010,
                format!("At least {} seats of {item}.", sku.min_quantity),
            ))
        } else {
            match &line.term_duration {
                None => Some((10010, "termDuration is required.".to_string())),
                Some(t) if !offers_term(t, &line.billing_cycle) => Some((
                    10013,
                    format!(
                        "Billing cycle {:?} with term {t} is not offered for {item}.",
                        line.billing_cycle
                    ),
                )),
                Some(_) => None,
            }
        }
    } else {
        Some((10001, format!("The catalog item ID {item} is not valid.")))
    };
    CartLine {
        id: line.id,
        catalog_item_id: line.catalog_item_id.clone(),
        quantity: line.quantity,
        billing_cycle: line.billing_cycle.clone(),
        term_duration: line.term_duration.clone(),
        friendly_name: line.friendly_name.clone(),
        provisioning_context: line.provisioning_context.clone(),
        error,
        list_price: sku.map(|s| s.list_price).unwrap_or(0.0),
    }
}

/// The sandbox clock as `GET`/`POST /sandbox/clock` answer it.
pub fn clock_json(st: &SandboxState) -> Value {
    json!({"now": ts(&st.now()), "offsetSeconds": st.clock_offset_seconds})
}
