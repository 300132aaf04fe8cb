//! Integration tests of `cspmove sandbox`: the real binary on 127.0.0.1, driven with
//! reqwest (async, on a tokio test runtime; no extra reqwest features needed).
//!
//! The sandbox follows today's Partner Center ([`Sandbox::start`]); the tests of the
//! emulated legacy order rules, and of durability through legacy orders, start it with
//! `--sell-legacy-offers` on purpose ([`Sandbox::start_legacy`]).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use cspmove::model::{
    Billing, Customer, LicenseAction, Line, OriginalAction, Plan, Relationship, SCHEMA, Summary,
    Term,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Sandbox, Workdir};

const E3_OFFER: &str = "796B6B5F-613C-4E24-A17C-EBA730D49C02";
const E3_SKU: &str = "6fd2c87f-b296-42f0-b197-1e91e994b900";
const M365_E3_OFFER: &str = "2B3B8D2D-10AA-4BE4-B5FD-7F2FEB0C3091";
const M365_E3_SKU: &str = "05e9a617-0261-4cee-bb44-138d3ef5d965";
const BASIC_OFFER: &str = "BD938F12-058F-4927-BBA3-AE36B1D2501C";

fn guid(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

fn line(current: &str, target: &str, seats: u64, assigned: Option<u64>) -> Line {
    let same = current == target;
    Line {
        id: "c1-l1".into(),
        input: 0,
        row: 2,
        current_offer: current.into(),
        current_offer_id: Some(current.into()),
        target_offer: target.into(),
        target_offer_id: Some(target.into()),
        seats,
        target_seats: seats,
        same_offer: same,
        same_license: same,
        license_action: if same {
            LicenseAction::None
        } else {
            LicenseAction::Reassign
        },
        licenses_to_reassign: if same { 0 } else { assigned.unwrap_or(seats) },
        from_sku: None,
        to_sku: None,
        expires_on: Some(NaiveDate::from_ymd_opt(2030, 1, 31).unwrap()),
        provision_on: NaiveDate::from_ymd_opt(2030, 1, 24).unwrap(),
        wave: "2030-01".into(),
        original_action: OriginalAction::LetExpire,
        subscription_id: None,
        program: None,
        assigned,
        auto_renew: None,
        term: Term::P1Y,
        billing: Billing::Monthly,
        warnings: vec![],
    }
}

fn customer(
    id: Option<String>,
    domain: &str,
    relationship: Relationship,
    lines: Vec<Line>,
) -> Customer {
    Customer {
        key: id.clone().unwrap_or_else(|| domain.to_string()),
        customer_id: id,
        domain: Some(domain.into()),
        name: Some(format!("{domain} Inc")),
        contact_email: Some(format!("admin@{domain}")),
        country: Some("US".into()),
        relationship,
        lines,
        tasks: vec![],
    }
}

fn plan(customers: Vec<Customer>) -> Plan {
    Plan {
        schema: SCHEMA.into(),
        generated_by: "cspmove test".into(),
        as_of: NaiveDate::from_ymd_opt(2029, 12, 1).unwrap(),
        lead_days: 7,
        inputs: vec![],
        summary: Summary {
            waves: BTreeMap::new(),
            ..Summary::default()
        },
        customers,
        rejected: vec![],
    }
}

/// Writes a plan into the work directory and returns its path as a string.
fn write_plan(wd: &Workdir, plan: &Plan) -> String {
    wd.write("plan.json", serde_json::to_vec_pretty(plan).unwrap())
        .to_string_lossy()
        .into_owned()
}

/// A small client for one sandbox.
struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    fn new(sb: &Sandbox) -> Client {
        Client {
            http: reqwest::Client::new(),
            base: sb.url.clone(),
            token: sb.token.clone(),
        }
    }

    async fn send(
        &self,
        req: reqwest::RequestBuilder,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
        };
        (status, headers, body)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (s, _, b) = self
            .send(
                self.http
                    .get(format!("{}{path}", self.base))
                    .bearer_auth(&self.token),
            )
            .await;
        (s, b)
    }

    async fn post(&self, path: &str, body: Value, request_id: Option<&str>) -> (StatusCode, Value) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body);
        if let Some(id) = request_id {
            req = req.header("MS-RequestId", id);
        }
        let (s, _, b) = self.send(req).await;
        (s, b)
    }

    async fn state(&self) -> Value {
        let (s, b) = self.get("/sandbox/state").await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b
    }
}

fn state_customer<'a>(state: &'a Value, id: &str) -> &'a Value {
    state["customers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("customer {id} not in state: {state}"))
}

fn pool(skus: &Value, sku: &str) -> Value {
    skus["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["productSku"]["id"] == sku)
        .cloned()
        .unwrap_or_else(|| panic!("no pool {sku}: {skus}"))
}

/// The state a `--state` file holds (snapshot plus change log), as JSON. Tests write
/// edited states back as plain JSON, the v1 format the sandbox still reads.
fn read_state_file(path: &std::path::Path) -> Value {
    let loaded = cspmove::sandbox::persist::load(path).expect("a readable state file");
    serde_json::to_value(&loaded.state).unwrap()
}

fn assert_error(status: StatusCode, body: &Value, want_status: u16, want_code: i64) {
    assert_eq!(status.as_u16(), want_status, "{body}");
    assert_eq!(body["code"], want_code, "{body}");
    assert_eq!(body["source"], "PartnerFD", "{body}");
    assert!(
        body["description"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn missing_or_bad_token_is_401_and_request_ids_are_echoed() {
    let sb = Sandbox::start(&[]);
    let http = reqwest::Client::new();
    let resp = http
        .get(format!("{}/v1/customers", sb.url))
        .header("MS-RequestId", "rid-1")
        .header("MS-CorrelationId", "cid-1")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(resp.headers()["ms-requestid"], "rid-1");
    assert_eq!(resp.headers()["ms-correlationid"], "cid-1");
    assert!(resp.headers().contains_key("www-authenticate"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["source"], "PartnerFD");

    let resp = http
        .get(format!("{}/v1/customers", sb.url))
        .bearer_auth("not-the-token")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = http
        .get(format!("{}/sandbox/state", sb.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn seeded_customers_page_through_with_continuation_tokens() {
    let wd = Workdir::new();
    let mut customers: Vec<Customer> = (1..=7)
        .map(|n| {
            customer(
                Some(guid(n)),
                &format!("c{n}.example"),
                Relationship::Request,
                vec![line(E3_OFFER, E3_OFFER, 3, None)],
            )
        })
        .collect();
    // Planned by domain alone: gets a generated tenant id.
    customers.push(customer(
        None,
        "domainonly.example",
        Relationship::Request,
        vec![line(E3_OFFER, E3_OFFER, 2, None)],
    ));
    let path = write_plan(&wd, &plan(customers));
    let sb = Sandbox::start(&["--seed", &path]);
    let c = Client::new(&sb);

    let mut seen = Vec::new();
    let (status, mut body) = c.get("/v1/customers?size=3").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut pages = 1;
    loop {
        assert_eq!(body["attributes"]["objectType"], "Collection");
        let items = body["items"].as_array().unwrap();
        assert_eq!(body["totalCount"].as_u64().unwrap() as usize, items.len());
        for item in items {
            assert_eq!(item["relationshipToPartner"], "reseller");
            assert_eq!(item["companyProfile"]["tenantId"], item["id"]);
            assert!(item.get("allowDelegatedAccess").is_none());
            seen.push(
                item["companyProfile"]["domain"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        let Some(next) = body["links"].get("next") else {
            break;
        };
        let uri = next["uri"].as_str().unwrap();
        assert!(uri.contains("seekOperation=Next"), "{uri}");
        let header = &next["headers"][0];
        assert_eq!(header["key"], "MS-ContinuationToken");
        let resp = c
            .http
            .get(format!("{}{uri}", c.base))
            .bearer_auth(&c.token)
            .header("MS-ContinuationToken", header["value"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let next_body: Value = resp.json().await.unwrap();
        // The same link with `/v1` put in front (as the SDK does) gives the same page.
        let prefixed: Value = c
            .http
            .get(format!("{}/v1{uri}", c.base))
            .bearer_auth(&c.token)
            .header("MS-ContinuationToken", header["value"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(prefixed, next_body);
        body = next_body;
        pages += 1;
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(pages, 3);
    seen.sort();
    let mut want: Vec<String> = (1..=7).map(|n| format!("c{n}.example")).collect();
    want.push("domainonly.example".into());
    want.sort();
    assert_eq!(seen, want);

    // The domain-only customer got a GUID tenant id.
    let (_, filtered) = c
        .get("/v1/customers?size=0&filter=%7B%22Field%22%3A%22Domain%22%2C%22Value%22%3A%22DOMAINONLY%22%2C%22Operator%22%3A%22starts_with%22%7D")
        .await;
    let items = filtered["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{filtered}");
    let id = items[0]["id"].as_str().unwrap();
    let derived = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_DNS, b"domainonly.example");
    assert_eq!(id, derived.to_string(), "uuid v5 of the domain");

    // One invitation link for the partner, whoever asks and how often.
    let (_, first) = c.get("/v1/customers/relationshiprequests").await;
    let (_, second) = c.get("/v1/customers/relationshiprequests").await;
    assert_eq!(first, second);
    assert_eq!(first["attributes"]["objectType"], "RelationshipRequest");

    // A page request with seekOperation=Next but no token is refused.
    let (status, body) = c.get("/v1/customers?size=3&seekOperation=Next").await;
    assert_error(status, &body, 400, 800002);
}

#[tokio::test]
async fn order_creates_subscriptions_and_adds_seats_to_the_pool() {
    let wd = Workdir::new();
    let id = guid(1);
    let path = write_plan(
        &wd,
        &plan(vec![customer(
            Some(id.clone()),
            "contoso.example",
            Relationship::Accepted,
            vec![line(E3_OFFER, E3_OFFER, 10, Some(8))],
        )]),
    );
    let sb = Sandbox::start_legacy(&["--seed", &path, "--accept", "none"]);
    let c = Client::new(&sb);

    let (_, skus) = c.get(&format!("/v1/customers/{id}/subscribedskus")).await;
    let before = pool(&skus, E3_SKU);
    assert_eq!(before["activeUnits"], 10);
    assert_eq!(before["consumedUnits"], 8);
    assert_eq!(before["availableUnits"], 2);
    // Old-channel seats are not CSP subscriptions.
    let (_, subs) = c.get(&format!("/v1/customers/{id}/subscriptions")).await;
    assert_eq!(subs["totalCount"], 0);

    let order = json!({"ReferenceCustomerId": id, "BillingCycle": "Monthly",
        "LineItems": [{"LineItemNumber": 0, "OfferId": E3_OFFER.to_lowercase(), "FriendlyName": "E3 (cspmove)", "Quantity": 10}]});
    let (status, body) = c
        .post(
            &format!("/v1/customers/{id}/orders"),
            order,
            Some("order-1"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["attributes"]["objectType"], "Order");
    assert_eq!(body["billingCycle"], "monthly");
    let sid = body["lineItems"][0]["subscriptionId"]
        .as_str()
        .unwrap()
        .to_string();
    let oid = body["id"].as_str().unwrap().to_string();
    assert!(body["creationDate"].as_str().unwrap().contains('T'));

    let (_, sub) = c
        .get(&format!("/v1/customers/{id}/subscriptions/{sid}"))
        .await;
    assert_eq!(sub["quantity"], 10);
    assert_eq!(sub["status"], "active");
    assert_eq!(sub["autoRenewEnabled"], true);
    assert_eq!(sub["orderId"], oid.as_str());
    assert!(sub["attributes"]["etag"].as_str().is_some());
    // Links are relative without `/v1`, and can be followed exactly as given.
    let self_uri = sub["links"]["self"]["uri"].as_str().unwrap();
    assert!(self_uri.starts_with("/customers/"), "{self_uri}");
    let (s, again) = c.get(self_uri).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(again, sub);
    let (_, by_order) = c
        .get(&format!("/v1/customers/{id}/subscriptions?order_id={oid}"))
        .await;
    assert_eq!(by_order["totalCount"], 1);
    let (_, fetched) = c.get(&format!("/v1/customers/{id}/orders/{oid}")).await;
    assert_eq!(fetched["lineItems"][0]["subscriptionId"], sid.as_str());
    let (_, prov) = c
        .get(&format!(
            "/v1/customers/{id}/orders/{oid}/provisioningstatus"
        ))
        .await;
    assert_eq!(prov["items"][0]["status"], "fulfilled");

    let (_, skus) = c.get(&format!("/v1/customers/{id}/subscribedskus")).await;
    let after = pool(&skus, E3_SKU);
    assert_eq!(after["activeUnits"], 20);
    assert_eq!(after["availableUnits"], 12);

    // /sandbox/state agrees with what the API answered.
    let state = c.state().await;
    let cust = state_customer(&state, &id);
    assert_eq!(cust["accepted"], true);
    assert_eq!(cust["orders"][0]["id"], oid.as_str());
    assert_eq!(cust["orders"][0]["requestId"], "order-1");
    assert_eq!(
        cust["orders"][0]["lineItems"][0]["subscriptionId"],
        sid.as_str()
    );
    assert_eq!(cust["subscriptions"][0]["quantity"], 10);
    let sku = cust["skus"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["skuId"] == E3_SKU)
        .unwrap();
    assert_eq!(sku["activeUnits"], 20);
    assert_eq!(sku["consumedUnits"], 8);
    assert_eq!(cust["users"].as_array().unwrap().len(), 8);
    assert!(state["stats"]["requests"].as_u64().unwrap() >= 8);
}

#[tokio::test]
async fn order_replayed_with_the_same_request_id_creates_nothing_new() {
    let wd = Workdir::new();
    let id = guid(2);
    let path = write_plan(
        &wd,
        &plan(vec![customer(
            Some(id.clone()),
            "fabrikam.example",
            Relationship::Accepted,
            vec![line(E3_OFFER, E3_OFFER, 5, None)],
        )]),
    );
    let sb = Sandbox::start_legacy(&["--seed", &path]);
    let c = Client::new(&sb);
    let order = json!({"lineItems": [{"lineItemNumber": 0, "offerId": E3_OFFER, "quantity": 5}]});
    let path = format!("/v1/customers/{id}/orders");
    let (s1, first) = c.post(&path, order.clone(), Some("same-id")).await;
    let (s2, second) = c.post(&path, order.clone(), Some("same-id")).await;
    assert_eq!(s1, StatusCode::CREATED);
    assert_eq!(s2, StatusCode::CREATED);
    assert_eq!(first, second);
    let state = c.state().await;
    let cust = state_customer(&state, &id);
    assert_eq!(cust["orders"].as_array().unwrap().len(), 1);
    assert_eq!(cust["subscriptions"].as_array().unwrap().len(), 1);
    // A new request id is a new order.
    let (s3, third) = c.post(&path, order, Some("other-id")).await;
    assert_eq!(s3, StatusCode::CREATED);
    assert_ne!(third["id"], first["id"]);
    let (_, subs) = c.get(&format!("/v1/customers/{id}/subscriptions")).await;
    assert_eq!(subs["totalCount"], 2);
}

#[tokio::test]
async fn order_errors_follow_the_documented_codes() {
    let wd = Workdir::new();
    let (accepted, waiting) = (guid(3), guid(4));
    let path = write_plan(
        &wd,
        &plan(vec![
            customer(
                Some(accepted.clone()),
                "a.example",
                Relationship::Accepted,
                vec![line(E3_OFFER, E3_OFFER, 5, None)],
            ),
            customer(
                Some(waiting.clone()),
                "w.example",
                Relationship::Request,
                vec![line(E3_OFFER, E3_OFFER, 5, None)],
            ),
        ]),
    );
    let sb = Sandbox::start_legacy(&["--seed", &path, "--accept", "none"]);
    let c = Client::new(&sb);
    let orders = format!("/v1/customers/{accepted}/orders");

    let (s, b) = c
        .post(&orders, json!({"lineItems": [{"lineItemNumber": 0, "offerId": "00000000-0000-0000-0000-000000000000", "quantity": 1}]}), None)
        .await;
    assert_error(s, &b, 400, 800004);
    let (s, b) = c
        .post(
            &orders,
            json!({"lineItems": [{"lineItemNumber": 0, "offerId": BASIC_OFFER, "quantity": 301}]}),
            None,
        )
        .await;
    assert_error(s, &b, 400, 900275);
    let (s, b) = c
        .post(
            &orders,
            json!({"lineItems": [{"lineItemNumber": 0, "offerId": E3_OFFER, "quantity": 0}]}),
            None,
        )
        .await;
    assert_error(s, &b, 400, 900275);
    let (s, b) = c
        .post(
            &orders,
            json!({"lineItems": [{"lineItemNumber": 1, "offerId": E3_OFFER, "quantity": 1}]}),
            None,
        )
        .await;
    assert_error(s, &b, 400, 800071);
    let (s, b) = c.post(&orders, json!({"lineItems": []}), None).await;
    assert_error(s, &b, 400, 800002);

    // Not accepted: 403 20002 on commerce, 404 on GET by id, absent from the list.
    let waiting_orders = format!("/v1/customers/{waiting}/orders");
    let good = json!({"lineItems": [{"lineItemNumber": 0, "offerId": E3_OFFER, "quantity": 1}]});
    let (s, b) = c.post(&waiting_orders, good.clone(), None).await;
    assert_error(s, &b, 403, 20002);
    let (s, b) = c.get(&format!("/v1/customers/{waiting}")).await;
    assert_error(s, &b, 404, 1000);
    let (_, list) = c.get("/v1/customers").await;
    assert_eq!(list["totalCount"], 1);

    // The customer accepts: now it is listed and can order.
    let (s, b) = c
        .post(
            &format!("/sandbox/customers/{waiting}/accept"),
            Value::Null,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (_, list) = c.get("/v1/customers").await;
    assert_eq!(list["totalCount"], 2);
    let (s, b) = c.post(&waiting_orders, good, None).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    // Nothing was created by the refused orders.
    let state = c.state().await;
    assert_eq!(
        state_customer(&state, &accepted)["orders"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[tokio::test]
async fn license_updates_swap_skus_and_refuse_when_units_run_out() {
    let wd = Workdir::new();
    let id = guid(5);
    let path = write_plan(
        &wd,
        &plan(vec![customer(
            Some(id.clone()),
            "swap.example",
            Relationship::Accepted,
            vec![line(E3_OFFER, M365_E3_OFFER, 3, None)],
        )]),
    );
    let sb = Sandbox::start_legacy(&["--seed", &path]);
    let c = Client::new(&sb);
    let (_, users) = c.get(&format!("/v1/customers/{id}/users")).await;
    let users: Vec<String> = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(users.len(), 3);
    let swap = json!({"licensesToAssign": [{"skuId": M365_E3_SKU, "excludedPlans": null}], "licensesToRemove": [E3_SKU], "attributes": {"objectType": "LicenseUpdate"}});

    // No M365 E3 seats yet: 60012, and nothing changed.
    let (s, b) = c
        .post(
            &format!("/v1/customers/{id}/users/{}/licenseupdates", users[0]),
            swap.clone(),
            None,
        )
        .await;
    assert_error(s, &b, 400, 60012);
    assert!(
        b["data"][0]
            .as_str()
            .unwrap()
            .contains("LicenseQuotaExceeded")
    );
    let (_, lic) = c
        .get(&format!("/v1/customers/{id}/users/{}/licenses", users[0]))
        .await;
    assert_eq!(lic["items"][0]["productSku"]["id"], E3_SKU);

    // Buy 2 seats: two users can move, the third cannot.
    let (s, b) = c
        .post(
            &format!("/v1/customers/{id}/orders"),
            json!({"lineItems": [{"lineItemNumber": 0, "offerId": M365_E3_OFFER, "quantity": 2}]}),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    for user in &users[..2] {
        let (s, b) = c
            .post(
                &format!("/v1/customers/{id}/users/{user}/licenseupdates"),
                swap.clone(),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        assert_eq!(b["licensesToAssign"][0]["skuId"], M365_E3_SKU);
        assert_eq!(b["attributes"]["objectType"], "LicenseUpdate");
    }
    let (s, b) = c
        .post(
            &format!("/v1/customers/{id}/users/{}/licenseupdates", users[2]),
            swap.clone(),
            None,
        )
        .await;
    assert_error(s, &b, 400, 60012);
    let (s, b) = c
        .post(
            &format!("/v1/customers/{id}/users/{}/licenseupdates", guid(999)),
            swap,
            None,
        )
        .await;
    assert_error(s, &b, 404, 60002);

    let (_, lic) = c
        .get(&format!("/v1/customers/{id}/users/{}/licenses", users[0]))
        .await;
    assert_eq!(lic["totalCount"], 1);
    assert_eq!(lic["items"][0]["productSku"]["id"], M365_E3_SKU);
    let (_, skus) = c.get(&format!("/v1/customers/{id}/subscribedskus")).await;
    assert_eq!(pool(&skus, M365_E3_SKU)["consumedUnits"], 2);
    assert_eq!(pool(&skus, M365_E3_SKU)["availableUnits"], 0);
    assert_eq!(pool(&skus, E3_SKU)["consumedUnits"], 1);
    let state = c.state().await;
    let cust = state_customer(&state, &id);
    let moved = cust["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["licenses"] == json!([M365_E3_SKU]))
        .count();
    assert_eq!(moved, 2);
}

#[tokio::test]
async fn state_survives_a_restart() {
    let wd = Workdir::new();
    let id = guid(6);
    let plan_path = write_plan(
        &wd,
        &plan(vec![customer(
            Some(id.clone()),
            "persist.example",
            Relationship::Request,
            vec![line(E3_OFFER, E3_OFFER, 4, None)],
        )]),
    );
    let state_file = wd.join("sandbox-state.json").to_string_lossy().into_owned();
    let order_id;
    {
        let sb = Sandbox::start_legacy(&[
            "--seed",
            &plan_path,
            "--accept",
            "none",
            "--state",
            &state_file,
        ]);
        let c = Client::new(&sb);
        let (s, _) = c
            .post(
                &format!("/sandbox/customers/{id}/accept"),
                Value::Null,
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let (s, b) = c
            .post(
                &format!("/v1/customers/{id}/orders"),
                json!({"lineItems": [{"lineItemNumber": 0, "offerId": E3_OFFER, "quantity": 4}]}),
                Some("persist-1"),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        order_id = b["id"].as_str().unwrap().to_string();
        // Killed hard (SIGKILL) when `sb` drops: the answer came after the write.
    }
    let sb = Sandbox::start_legacy(&[
        "--seed",
        &plan_path,
        "--accept",
        "none",
        "--state",
        &state_file,
    ]);
    let c = Client::new(&sb);
    let (s, b) = c
        .get(&format!("/v1/customers/{id}/orders/{order_id}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (_, skus) = c.get(&format!("/v1/customers/{id}/subscribedskus")).await;
    assert_eq!(pool(&skus, E3_SKU)["activeUnits"], 8);
    // The replay record survived too.
    let (s, again) = c
        .post(
            &format!("/v1/customers/{id}/orders"),
            json!({"lineItems": [{"lineItemNumber": 0, "offerId": E3_OFFER, "quantity": 4}]}),
            Some("persist-1"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(again["id"], order_id.as_str());
    let state = c.state().await;
    assert_eq!(
        state_customer(&state, &id)["orders"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

fn one_customer_plan(wd: &Workdir, id: &str, lines: Vec<Line>) -> String {
    write_plan(
        wd,
        &plan(vec![customer(
            Some(id.to_string()),
            "one.example",
            Relationship::Accepted,
            lines,
        )]),
    )
}

#[tokio::test]
async fn token_endpoints_issue_app_user_and_app_only_tokens() {
    let wd = Workdir::new();
    let id = guid(7);
    let path = one_customer_plan(&wd, &id, vec![line(E3_OFFER, E3_OFFER, 2, None)]);
    let sb = Sandbox::start(&["--seed", &path]);
    let http = reqwest::Client::new();
    let form = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}={}",
                    url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
                )
            })
            .collect::<Vec<_>>()
            .join("&")
    };
    let post = |path: &str, body: String| {
        http.post(format!("{}{path}", sb.url))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };

    // App-only, v1: numbers as strings.
    let resp = post(
        "/partner.example/oauth2/token",
        form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "app"),
            ("client_secret", "s"),
            ("resource", "https://graph.windows.net"),
        ]),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], "3600");
    let app_token = body["access_token"].as_str().unwrap().to_string();

    let c = Client {
        http: http.clone(),
        base: sb.url.clone(),
        token: app_token,
    };
    let (s, _) = c.get("/v1/customers").await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = c.get(&format!("/v1/customers/{id}/subscriptions")).await;
    assert_eq!(s, StatusCode::OK);
    for user_route in [
        "/v1/customers/relationshiprequests".to_string(),
        format!("/v1/customers/{id}/users"),
        format!("/v1/customers/{id}/subscribedskus"),
    ] {
        let (s, b) = c.get(&user_route).await;
        assert_error(s, &b, 403, 900329);
    }

    // App+User, v2 refresh-token grant: numbers as numbers, a new refresh token.
    let resp = post(
        "/partner.example/oauth2/v2.0/token",
        form(&[
            ("grant_type", "refresh_token"),
            ("client_id", "app"),
            ("client_secret", "s"),
            ("refresh_token", "rt-1"),
            (
                "scope",
                "https://api.partnercenter.microsoft.com/user_impersonation",
            ),
        ]),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["expires_in"], 3600);
    assert!(body["refresh_token"].as_str().is_some());
    let user = Client {
        http: http.clone(),
        base: sb.url.clone(),
        token: body["access_token"].as_str().unwrap().into(),
    };
    let (s, b) = user.get(&format!("/v1/customers/{id}/users")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["totalCount"], 2);

    // Refused grants use Entra's error shape.
    let resp = post(
        "/p/oauth2/token",
        form(&[
            ("grant_type", "refresh_token"),
            ("client_id", "app"),
            ("refresh_token", "revoked-1"),
        ]),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    let resp = post("/p/oauth2/token", form(&[("client_id", "app")]))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    let resp = post(
        "/p/oauth2/token",
        form(&[("grant_type", "password"), ("client_id", "app")]),
    )
    .await
    .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn subscription_patch_checks_etag_range_and_keeps_pools_in_step() {
    let wd = Workdir::new();
    let id = guid(8);
    let path = one_customer_plan(&wd, &id, vec![line(E3_OFFER, E3_OFFER, 2, Some(0))]);
    let sb = Sandbox::start_legacy(&["--seed", &path]);
    let c = Client::new(&sb);
    let (_, order) = c
        .post(
            &format!("/v1/customers/{id}/orders"),
            json!({"lineItems": [{"lineItemNumber": 0, "offerId": BASIC_OFFER, "quantity": 5}]}),
            None,
        )
        .await;
    let sid = order["lineItems"][0]["subscriptionId"]
        .as_str()
        .unwrap()
        .to_string();
    let sub_path = format!("/v1/customers/{id}/subscriptions/{sid}");
    let (_, sub) = c.get(&sub_path).await;
    let etag = sub["attributes"]["etag"].as_str().unwrap().to_string();

    let patch = |body: Value, etag: Option<&str>| {
        let mut req = c
            .http
            .patch(format!("{}{sub_path}", c.base))
            .bearer_auth(&c.token)
            .json(&body);
        if let Some(e) = etag {
            req = req.header("If-Match", format!("\"{e}\""));
        }
        c.send(req)
    };
    let mut changed = sub.clone();
    changed["quantity"] = json!(7);
    let (s, _, updated) = patch(changed.clone(), Some(&etag)).await;
    assert_eq!(s, StatusCode::OK, "{updated}");
    assert_eq!(updated["quantity"], 7);
    assert_eq!(updated["autoRenewEnabled"], true);
    assert_ne!(updated["attributes"]["etag"], etag.as_str());
    // The old etag is stale now.
    let (s, _, b) = patch(changed.clone(), Some(&etag)).await;
    assert_error(s, &b, 400, 2055);
    // No If-Match is allowed; out of range is 2002.
    changed["quantity"] = json!(301);
    let (s, _, b) = patch(changed.clone(), None).await;
    assert_error(s, &b, 400, 2002);
    // Leaving autoRenewEnabled out switches auto-renew off (the documented trap).
    let mut no_renew = changed.clone();
    no_renew["quantity"] = json!(7);
    no_renew.as_object_mut().unwrap().remove("autoRenewEnabled");
    let (s, _, b) = patch(no_renew, None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["autoRenewEnabled"], false);
    let (_, skus) = c.get(&format!("/v1/customers/{id}/subscribedskus")).await;
    assert_eq!(
        pool(&skus, "3b555118-da6a-4418-894f-7df1e2096870")["activeUnits"],
        7
    );
    // Suspending takes the seats out of the pool.
    let (s, _, b) = patch(
        json!({"Status": "Suspended", "Quantity": 7, "AutoRenewEnabled": false}),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["status"], "suspended");
    let (_, skus) = c.get(&format!("/v1/customers/{id}/subscribedskus")).await;
    assert_eq!(
        pool(&skus, "3b555118-da6a-4418-894f-7df1e2096870")["activeUnits"],
        0
    );
    let state = c.state().await;
    assert_eq!(
        state_customer(&state, &id)["subscriptions"][0]["status"],
        "suspended"
    );
    let (s, b) = c
        .get(&format!("/v1/customers/{id}/subscriptions/{}", guid(77)))
        .await;
    assert_error(s, &b, 404, 1000);
}

#[tokio::test]
async fn carts_validate_lines_and_checkout_buys_once() {
    let wd = Workdir::new();
    let id = guid(9);
    let path = one_customer_plan(&wd, &id, vec![line(E3_OFFER, E3_OFFER, 2, None)]);
    let sb = Sandbox::start(&["--seed", &path]);
    let c = Client::new(&sb);

    // Catalog walk: product → sku → availability.
    let (s, products) = c
        .get("/v1/products?country=US&targetView=OnlineServices")
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        products["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["productType"]["id"] == "OnlineServicesNCE")
    );
    let (_, sku) = c
        .get("/v1/products/CFQ7TTC0LFLX/skus/0001?country=US")
        .await;
    assert_eq!(sku["dynamicAttributes"]["provisioningId"], M365_E3_SKU);
    let (_, avails) = c
        .get("/v1/products/CFQ7TTC0LFLX/skus/0001/availabilities?country=US")
        .await;
    let item = avails["items"][0]["catalogItemId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(item, "CFQ7TTC0LFLX:0001:CFQ7TTC0LB30");
    let (s, b) = c.get("/v1/products/NOPE?country=US").await;
    assert_error(s, &b, 404, 400013);
    let (s, b) = c
        .get("/v1/products/CFQ7TTC0LFLX/skus/9999?country=US")
        .await;
    assert_error(s, &b, 404, 400018);
    let (s, b) = c
        .get("/v1/products/CFQ7TTC0LFLX/skus/0001/availabilities/XX?country=US")
        .await;
    assert_error(s, &b, 404, 400019);
    let (s, _) = c
        .get(&format!(
            "/v1/customers/{id}/products/CFQ7TTC0LFLX/skus/0001/availabilities"
        ))
        .await;
    assert_eq!(s, StatusCode::OK);

    // Bad lines come back on a 201 cart, and checkout refuses the cart.
    let carts = format!("/v1/customers/{id}/carts");
    let (s, cart) = c
        .post(&carts, json!({"LineItems": [
            {"Id": 0, "CatalogItemId": "CFQ7TTC0LFLX:0001:WRONG", "Quantity": 1, "BillingCycle": "Monthly", "TermDuration": "P1Y"},
            {"Id": 1, "CatalogItemId": E3_OFFER, "Quantity": 1, "BillingCycle": "monthly", "TermDuration": "P1Y"},
            {"Id": 2, "CatalogItemId": "CFQ7TTC0LH18:0001:CFQ7TTC0K971", "Quantity": 301, "BillingCycle": "monthly", "TermDuration": "P1Y"},
            {"Id": 3, "CatalogItemId": item, "Quantity": 5, "BillingCycle": "annual", "TermDuration": "P1M"}]}), None)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{cart}");
    let codes: Vec<i64> = cart["lineItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["error"]["errorCode"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, vec![10001, 500600, 10015, 10013]);
    assert_eq!(cart["status"], "Active");
    let cart_id = cart["id"].as_str().unwrap().to_string();
    let (s, b) = c
        .post(&format!("{carts}/{cart_id}/checkout"), Value::Null, None)
        .await;
    assert_error(s, &b, 400, 800009);
    let (s, b) = c.post(&carts, json!({"lineItems": []}), None).await;
    assert_error(s, &b, 400, 800002);
    let (s, b) = c
        .post(&format!("{carts}/{}/checkout", guid(5)), Value::Null, None)
        .await;
    assert_error(s, &b, 404, 800008);

    // Fix the cart with PUT, then check out twice: one order.
    let (s, _, fixed) = c
        .send(c.http.put(format!("{}{carts}/{cart_id}", c.base)).bearer_auth(&c.token).json(&json!({"lineItems": [
            {"id": 0, "catalogItemId": item, "quantity": 5, "billingCycle": "monthly", "termDuration": "P1Y"}]})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{fixed}");
    assert!(fixed["lineItems"][0].get("error").is_none());
    let (s, first) = c
        .post(&format!("{carts}/{cart_id}/checkout"), Value::Null, None)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    assert_eq!(first["attributes"]["objectType"], "CartCheckoutResult");
    assert_eq!(first["orderErrors"], json!([]));
    let order_id = first["orders"][0]["id"].as_str().unwrap();
    assert_eq!(order_id.len(), 12);
    let sid = first["orders"][0]["lineItems"][0]["subscriptionId"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, again) = c
        .post(&format!("{carts}/{cart_id}/checkout"), Value::Null, None)
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(again, first);
    let (_, got) = c.get(&format!("{carts}/{cart_id}")).await;
    assert_eq!(got["status"], "Ordered");

    let (_, sub) = c
        .get(&format!("/v1/customers/{id}/subscriptions/{sid}"))
        .await;
    assert_eq!(sub["offerId"], item.as_str());
    assert_eq!(sub["termDuration"], "P1Y");
    assert_eq!(sub["productType"]["id"], "OnlineServicesNCE");
    assert!(
        sub["commitmentEndDate"]
            .as_str()
            .unwrap()
            .ends_with("T00:00:00Z")
    );
    let (_, skus) = c.get(&format!("/v1/customers/{id}/subscribedskus")).await;
    assert_eq!(pool(&skus, M365_E3_SKU)["activeUnits"], 5);
    let state = c.state().await;
    assert_eq!(
        state_customer(&state, &id)["orders"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Business Basic: at most two subscriptions per customer.
    let basic = json!({"lineItems": [
        {"id": 0, "catalogItemId": "CFQ7TTC0LH18:0001:CFQ7TTC0K971", "quantity": 1, "billingCycle": "monthly", "termDuration": "P1M"},
        {"id": 1, "catalogItemId": "CFQ7TTC0LH18:0001:CFQ7TTC0K971", "quantity": 1, "billingCycle": "monthly", "termDuration": "P1M"},
        {"id": 2, "catalogItemId": "CFQ7TTC0LH18:0001:CFQ7TTC0K971", "quantity": 1, "billingCycle": "monthly", "termDuration": "P1M"}]});
    let (_, cart) = c.post(&carts, basic, None).await;
    let (s, result) = c
        .post(
            &format!("{carts}/{}/checkout", cart["id"].as_str().unwrap()),
            Value::Null,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(result["orders"], json!([]));
    assert_eq!(result["orderErrors"][0]["code"], 800089);
}

#[tokio::test]
async fn users_page_and_other_reads_answer_documented_shapes() {
    let wd = Workdir::new();
    let id = guid(10);
    let path = one_customer_plan(&wd, &id, vec![line(E3_OFFER, E3_OFFER, 25, Some(23))]);
    let sb = Sandbox::start(&["--seed", &path]);
    let c = Client::new(&sb);

    let mut ids = Vec::new();
    let mut uri = format!("/v1/customers/{id}/users?size=10");
    let mut token: Option<String> = None;
    for _ in 0..10 {
        let mut req = c.http.get(format!("{}{uri}", c.base)).bearer_auth(&c.token);
        if let Some(t) = &token {
            req = req.header("MS-ContinuationToken", t);
        }
        let (s, _, body) = c.send(req).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        for u in body["items"].as_array().unwrap() {
            assert_eq!(u["attributes"]["objectType"], "CustomerUser");
            assert_eq!(u["state"], "active");
            ids.push(u["id"].as_str().unwrap().to_string());
        }
        match body["links"].get("next") {
            Some(next) => {
                uri = next["uri"].as_str().unwrap().to_string();
                token = Some(next["headers"][0]["value"].as_str().unwrap().to_string());
            }
            None => break,
        }
    }
    assert_eq!(ids.len(), 23);
    let unique: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), 23);
    // A users token does not page customers.
    let resp = c
        .http
        .get(format!("{}/v1/customers?seekOperation=Next", c.base))
        .bearer_auth(&c.token)
        .header("MS-ContinuationToken", token.unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    let (s, b) = c.get(&format!("/v1/customers/{id}/users/{}", ids[0])).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["id"], ids[0].as_str());
    let (s, b) = c
        .get(&format!("/v1/customers/{id}/users/{}", guid(404)))
        .await;
    assert_error(s, &b, 404, 60002);
    let (s, b) = c.get(&format!("/v1/customers/{}/users", guid(405))).await;
    assert_error(s, &b, 404, 60003);
    let (_, groups) = c
        .get(&format!(
            "/v1/customers/{id}/subscribedskus?licenseGroupIds=Group2"
        ))
        .await;
    assert_eq!(groups["totalCount"], 0);
    let (_, skus) = c
        .get(&format!(
            "/v1/customers/{id}/subscribedskus?licenseGroupIds=Group1&licenseGroupIds=Group2"
        ))
        .await;
    let e3 = pool(&skus, E3_SKU);
    assert_eq!(e3["totalUnits"], 25);
    assert_eq!(e3["productSku"]["skuPartNumber"], "ENTERPRISEPACK");
    assert_eq!(e3["attributes"]["objectType"], "SubscribedSku");

    let (s, b) = c.get(&format!("/v1/customers/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["allowDelegatedAccess"], true);
    let (s, offers) = c.get("/v1/offers?country=US").await;
    assert_eq!(s, StatusCode::OK);
    assert!(offers["totalCount"].as_u64().unwrap() >= 17);
    let (s, offer) = c
        .get(&format!(
            "/v1/offers/{}?country=US",
            E3_OFFER.to_lowercase()
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(offer["product"]["id"], E3_SKU.to_uppercase());
    let (s, b) = c.get("/v1/offers").await;
    assert_error(s, &b, 400, 800002);
    // Paths are case-insensitive; an unknown path gets the gateway-shaped 404.
    let (s, b) = c.get("/v1/Customers/RelationshipRequests").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(b["url"].as_str().unwrap().contains("partnerId="));
    let (s, b) = c.get("/v1/nowhere").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(b["statusCode"], 404);

    let (s, b) = c
        .post(&format!("/v1/customers/{id}/agreements"), json!({"primaryContact": {"firstName": "A", "lastName": "B", "email": "a@b.example"}, "templateId": "117a1d4e", "dateAgreed": "2026-11-21T00:00:00Z", "type": "MicrosoftCustomerAgreement"}), None)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = c
        .post(
            &format!("/v1/customers/{id}/agreements"),
            json!({"type": "MicrosoftCustomerAgreement"}),
            None,
        )
        .await;
    assert_error(s, &b, 400, 800002);
}

/// Outcome of one request under fault injection.
#[derive(Debug, PartialEq)]
enum Outcome {
    Ok,
    Status(u16),
    Dropped,
}

async fn try_get(http: &reqwest::Client, url: &str, token: &str) -> Outcome {
    match http.get(url).bearer_auth(token).send().await {
        Ok(resp) if resp.status().is_success() => {
            // The body must arrive whole too.
            match resp.bytes().await {
                Ok(_) => Outcome::Ok,
                Err(_) => Outcome::Dropped,
            }
        }
        Ok(resp) => Outcome::Status(resp.status().as_u16()),
        Err(_) => Outcome::Dropped,
    }
}

#[tokio::test]
async fn fail_rate_is_within_tolerance_and_counted_in_stats() {
    let sb = Sandbox::start(&["--fail-rate", "0.3", "--fault-seed", "42"]);
    let http = reqwest::Client::new();
    let url = format!("{}/v1/offers?country=US", sb.url);
    let n = 400;
    let mut ok = 0;
    let mut failed = 0;
    let mut dropped = 0;
    let mut statuses = std::collections::BTreeSet::new();
    for _ in 0..n {
        match try_get(&http, &url, &sb.token).await {
            Outcome::Ok => ok += 1,
            Outcome::Status(s) => {
                statuses.insert(s);
                failed += 1
            }
            Outcome::Dropped => {
                dropped += 1;
                failed += 1
            }
        }
    }
    let rate = failed as f64 / n as f64;
    assert!(
        (0.22..=0.38).contains(&rate),
        "fail rate {rate} ({ok} ok, {failed} failed)"
    );
    assert!(dropped > 0, "no dropped connection seen");
    assert!(
        statuses.contains(&500) && statuses.contains(&503),
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 500 || *s == 503),
        "{statuses:?}"
    );
    let c = Client::new(&sb);
    let state = c.state().await;
    assert_eq!(state["stats"]["faults"], failed);
    assert_eq!(state["stats"]["requests"], n);
}

#[tokio::test]
async fn throttle_rate_and_rate_limit_answer_429_with_retry_after() {
    let sb = Sandbox::start(&["--throttle-rate", "0.5", "--fault-seed", "1"]);
    let http = reqwest::Client::new();
    let url = format!("{}/v1/offers?country=US", sb.url);
    let mut throttled = 0;
    for _ in 0..200 {
        let resp = http.get(&url).bearer_auth(&sb.token).send().await.unwrap();
        if resp.status() == StatusCode::TOO_MANY_REQUESTS {
            throttled += 1;
            assert_eq!(resp.headers()["retry-after"], "1");
            let body: Value = resp.json().await.unwrap();
            assert_eq!(body["statusCode"], 429);
            assert!(
                body["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("Rate limit is exceeded")
            );
        } else {
            assert_eq!(resp.status(), StatusCode::OK);
        }
    }
    assert!(
        (70..=130).contains(&throttled),
        "{throttled} of 200 throttled"
    );
    let state = Client::new(&sb).state().await;
    assert_eq!(state["stats"]["throttled"], throttled);
    drop(sb);

    let sb = Sandbox::start(&["--rate-limit", "5"]);
    let url = format!("{}/v1/offers?country=US", sb.url);
    let began = std::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..30 {
        let (http, url, token) = (http.clone(), url.clone(), sb.token.clone());
        tasks.spawn(async move {
            let resp = http.get(&url).bearer_auth(&token).send().await.unwrap();
            (resp.status(), resp.headers().contains_key("retry-after"))
        });
    }
    let (mut served, mut limited) = (0u64, 0u64);
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            (StatusCode::OK, _) => served += 1,
            (StatusCode::TOO_MANY_REQUESTS, retry_after) => {
                assert!(retry_after, "429 without Retry-After");
                limited += 1
            }
            (other, _) => panic!("unexpected {other}"),
        }
    }
    // At most 5 per one-second window the burst touched.
    let windows = began.elapsed().as_secs() + 2;
    assert!(served >= 5, "{served} served");
    assert!(
        served <= 5 * windows,
        "{served} served in {windows} windows"
    );
    assert!(limited > 0 || windows > 6, "nothing limited");
    assert_eq!(served + limited, 30);
}

#[tokio::test]
async fn ambiguous_order_failures_never_order_twice_when_retried() {
    let wd = Workdir::new();
    let id = guid(11);
    let plan_path = one_customer_plan(&wd, &id, vec![line(E3_OFFER, E3_OFFER, 2, None)]);
    let state_file = wd.join("state.json").to_string_lossy().into_owned();
    let order = json!({"lineItems": [{"lineItemNumber": 0, "offerId": E3_OFFER, "quantity": 1}]});
    let orders = format!("/v1/customers/{id}/orders");
    let ids: Vec<String> = (0..12).map(|n| format!("ambiguous-{n}")).collect();
    {
        let sb = Sandbox::start_legacy(&[
            "--seed",
            &plan_path,
            "--state",
            &state_file,
            "--fail-rate",
            "1",
            "--fault-seed",
            "3",
        ]);
        let c = Client::new(&sb);
        for rid in &ids {
            let result = c
                .http
                .post(format!("{}{orders}", c.base))
                .bearer_auth(&c.token)
                .header("MS-RequestId", rid)
                .json(&order)
                .send()
                .await;
            // A dropped connection is an Err; an answer must be a 5xx.
            if let Ok(resp) = result {
                assert!(resp.status().is_server_error(), "{}", resp.status());
            }
        }
    }
    // Faults off; the same state. Some orders were applied before their answer failed.
    let sb = Sandbox::start_legacy(&["--state", &state_file]);
    let c = Client::new(&sb);
    let state = c.state().await;
    let applied = state_customer(&state, &id)["orders"]
        .as_array()
        .unwrap()
        .len();
    assert!(
        applied > 0 && applied < ids.len(),
        "{applied} applied before the retry"
    );
    // Retrying every order with its own request id gives exactly one order each.
    for rid in &ids {
        let (s, b) = c.post(&orders, order.clone(), Some(rid)).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    let state = c.state().await;
    let cust = state_customer(&state, &id);
    let mut seen: Vec<String> = cust["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["requestId"].as_str().unwrap().to_string())
        .collect();
    seen.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(seen, want);
    assert_eq!(cust["subscriptions"].as_array().unwrap().len(), ids.len());
}

#[tokio::test]
async fn bad_flags_are_usage_errors() {
    let wd = Workdir::new();
    wd.run(["sandbox", "--accept", "most"])
        .expect_code(2)
        .expect_stderr_contains("--accept");
    wd.run(["sandbox", "--fail-rate", "1.5"])
        .expect_code(2)
        .expect_stderr_contains("--fail-rate");
    wd.run(["sandbox", "--listen", "localhost"])
        .expect_code(2)
        .expect_stderr_contains("--listen");
    wd.write("other.json", r#"{"schema":"other/v9"}"#);
    wd.run(["sandbox", "--seed", "other.json"])
        .expect_code(2)
        .expect_stderr_contains("schema");
    wd.write("broken-state.json", "not json");
    wd.run(["sandbox", "--state", "broken-state.json"])
        .expect_code(1)
        .expect_stderr_contains("broken-state.json: not a sandbox state file");
}

#[tokio::test]
async fn ctrl_c_shuts_down_cleanly_and_keeps_the_state() {
    let wd = Workdir::new();
    let id = guid(12);
    let plan_path = one_customer_plan(&wd, &id, vec![line(E3_OFFER, E3_OFFER, 2, None)]);
    let state_file = wd.join("state.json");
    let mut sb = Sandbox::start_legacy(&[
        "--seed",
        &plan_path,
        "--state",
        state_file.to_str().unwrap(),
    ]);
    let c = Client::new(&sb);
    let (s, order) = c
        .post(
            &format!("/v1/customers/{id}/orders"),
            json!({"lineItems": [{"lineItemNumber": 0, "offerId": E3_OFFER, "quantity": 3}]}),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let pid = sb.child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(status) = sb.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "sandbox did not stop on SIGINT"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");
    let saved = std::fs::read_to_string(&state_file).unwrap();
    assert!(saved.contains(order["id"].as_str().unwrap()));
    assert!(
        c.http
            .get(format!("{}/v1/customers", sb.url))
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn seeding_follows_the_plan_skus_and_adds_unknown_target_offers() {
    let wd = Workdir::new();
    let id = guid(13);
    let from = "11111111-2222-4333-8444-555555555555";
    let to = "66666666-7777-4888-8999-000000000000";
    let nce_to = "12121212-3434-4565-8787-909090909090";
    let custom_offer = "ABCDEF01-2345-4678-9ABC-DEF012345678";
    let mut reassign = line("Contoso Legacy Suite", "Contoso Cloud Suite", 6, Some(4));
    reassign.current_offer_id = None;
    reassign.target_offer_id = Some(custom_offer.into());
    reassign.from_sku = Some(from.into());
    reassign.to_sku = Some(to.into());
    let mut nce = line(E3_OFFER, "Contoso NCE", 3, None);
    nce.target_offer_id = Some("CFQ7TTC0ZZZZ:0001".into());
    nce.to_sku = Some(nce_to.into());
    let mut customers = vec![customer(
        Some(id.clone()),
        "seed.example",
        Relationship::Request,
        vec![reassign, nce],
    )];
    for n in 100..140 {
        customers.push(customer(
            Some(guid(n)),
            &format!("f{n}.example"),
            Relationship::Request,
            vec![line(E3_OFFER, E3_OFFER, 1, None)],
        ));
    }
    let path = write_plan(&wd, &plan(customers));

    let accepted_set = |state: &Value| -> Vec<String> {
        state["customers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["accepted"] == true)
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect()
    };
    let first = {
        let sb = Sandbox::start(&["--seed", &path, "--accept", "0.5"]);
        accepted_set(&Client::new(&sb).state().await)
    };
    let sb = Sandbox::start(&["--seed", &path, "--accept", "0.5"]);
    let c = Client::new(&sb);
    let state = c.state().await;
    let second = accepted_set(&state);
    assert_eq!(
        first, second,
        "--accept FRACTION is deterministic per customer"
    );
    assert!(
        (8..=33).contains(&second.len()),
        "{} of 41 accepted",
        second.len()
    );

    // Users hold the plan's from_sku (4 assigned) and the E3 SKU (3 seats).
    let cust = state_customer(&state, &id);
    let holding = |sku: &str| {
        cust["users"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["licenses"] == json!([sku]))
            .count()
    };
    assert_eq!(holding(from), 4);
    assert_eq!(holding(E3_SKU), 3);
    let pools = cust["skus"].as_array().unwrap();
    let from_pool = pools.iter().find(|p| p["skuId"] == from).unwrap();
    assert_eq!(from_pool["activeUnits"], 6);

    // The unknown target offers exist, granting the plan's to_sku.
    let (s, offer) = c
        .get(&format!("/v1/offers/{custom_offer}?country=US"))
        .await;
    assert_eq!(s, StatusCode::OK, "{offer}");
    assert_eq!(offer["product"]["id"].as_str().unwrap().to_lowercase(), to);
    assert_eq!(offer["name"], "Contoso Cloud Suite");
    let (s, sku) = c
        .get("/v1/products/CFQ7TTC0ZZZZ/skus/0001?country=US")
        .await;
    assert_eq!(s, StatusCode::OK, "{sku}");
    assert_eq!(sku["dynamicAttributes"]["provisioningId"], nce_to);

    // Accept, buy the new offer, and the seats land in the to_sku pool.
    c.post(
        &format!("/sandbox/customers/{id}/accept"),
        Value::Null,
        None,
    )
    .await;
    let (s, b) = c
        .post(
            &format!("/v1/customers/{id}/orders"),
            json!({"lineItems": [{"lineItemNumber": 0, "offerId": custom_offer, "quantity": 4}]}),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (_, skus) = c.get(&format!("/v1/customers/{id}/subscribedskus")).await;
    assert_eq!(pool(&skus, to)["availableUnits"], 4);
    assert_eq!(
        pool(&skus, from)["productSku"]["name"],
        "Contoso Legacy Suite"
    );
}

#[tokio::test]
async fn serves_hundreds_of_concurrent_connections_and_adds_latency() {
    let sb = Sandbox::start(&["--latency-ms", "150"]);
    // One client per task: every request has its own connection.
    let mut tasks = tokio::task::JoinSet::new();
    let began = std::time::Instant::now();
    for _ in 0..300 {
        let (url, token) = (format!("{}/v1/offers?country=US", sb.url), sb.token.clone());
        tasks.spawn(async move {
            let http = reqwest::Client::new();
            let resp = http
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("connection");
            resp.status()
        });
    }
    let mut ok = 0;
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::OK);
        ok += 1;
    }
    assert_eq!(ok, 300);
    let elapsed = began.elapsed();
    // The delay is per request, not serialised behind a lock.
    assert!(
        elapsed >= std::time::Duration::from_millis(150),
        "{elapsed:?}"
    );
    assert!(elapsed < std::time::Duration::from_secs(20), "{elapsed:?}");
}

#[tokio::test]
async fn remaining_documented_errors_including_the_new_commerce_windows() {
    let wd = Workdir::new();
    let id = guid(14);
    let plan_path = one_customer_plan(&wd, &id, vec![line(E3_OFFER, E3_OFFER, 2, None)]);
    let state_file = wd.join("state.json");
    let state_arg = state_file.to_str().unwrap().to_string();
    let carts = format!("/v1/customers/{id}/carts");
    let e3_item = "CFQ7TTC0LFLX:0001:CFQ7TTC0LB30";
    let cart_line = |q: u64| json!({"lineItems": [{"id": 0, "catalogItemId": e3_item, "quantity": q, "billingCycle": "monthly", "termDuration": "P1Y"}]});
    let (old_sid, fresh_sid, renew_sid);
    {
        let sb = Sandbox::start_legacy(&["--seed", &plan_path, "--state", &state_arg]);
        let c = Client::new(&sb);
        // Three concurrent Business Essentials subscriptions: over the limit of 2.
        let (s, b) = c
            .post(
                &format!("/v1/customers/{id}/orders"),
                json!({"lineItems": [
                {"lineItemNumber": 0, "offerId": BASIC_OFFER, "quantity": 1},
                {"lineItemNumber": 1, "offerId": BASIC_OFFER, "quantity": 1},
                {"lineItemNumber": 2, "offerId": BASIC_OFFER, "quantity": 1}]}),
                None,
            )
            .await;
        assert_error(s, &b, 403, 800066);
        let (s, b) = c.get(&format!("/v1/customers/{id}/orders")).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(b["totalCount"], 0);
        let resp = c
            .http
            .delete(format!("{}/v1/customers/{id}/orders", c.base))
            .bearer_auth(&c.token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);

        // Catalog odds and ends.
        let (s, skus) = c.get("/v1/products/CFQ7TTC0LFLX/skus?country=US").await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            skus["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["id"] == "0021")
        );
        let (s, b) = c
            .get("/v1/products/CFQ7TTC0LFLX/skus/0001/availabilities/CFQ7TTC0LB30?country=US")
            .await;
        assert_eq!(s, StatusCode::OK);
        // Every pair new commerce sells: P1M monthly, P1Y monthly/annual, P3Y all three.
        assert_eq!(b["terms"].as_array().unwrap().len(), 6);
        let (s, b) = c.get("/v1/products?country=US&targetView=Azure").await;
        assert_error(s, &b, 403, 400036);
        let (s, b) = c
            .post(
                &carts,
                json!({"lineItems": [{"id": 0, "quantity": 1}]}),
                None,
            )
            .await;
        assert_error(s, &b, 400, 900142);
        let (_, cart) = c.post(&carts, cart_line(0), None).await;
        assert_eq!(cart["lineItems"][0]["error"]["errorCode"], 10010);

        // Three NCE subscriptions: one to age past its window, one fresh, one to expire.
        let mut sids = Vec::new();
        for _ in 0..3 {
            let (_, cart) = c.post(&carts, cart_line(5), None).await;
            let cart_id = cart["id"].as_str().unwrap().to_string();
            let (s, result) = c
                .post(&format!("{carts}/{cart_id}/checkout"), Value::Null, None)
                .await;
            assert_eq!(s, StatusCode::CREATED, "{result}");
            sids.push(
                result["orders"][0]["lineItems"][0]["subscriptionId"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
            let (s, _, b) = c
                .send(
                    c.http
                        .put(format!("{}{carts}/{cart_id}", c.base))
                        .bearer_auth(&c.token)
                        .json(&cart_line(6)),
                )
                .await;
            assert_error(s, &b, 400, 800065);
        }
        (old_sid, fresh_sid, renew_sid) = (sids[0].clone(), sids[1].clone(), sids[2].clone());
        // A fresh NCE subscription may shrink and be cancelled; then it cannot change.
        let patch = |sid: &str, body: Value| {
            c.send(
                c.http
                    .patch(format!("{}/v1/customers/{id}/subscriptions/{sid}", c.base))
                    .bearer_auth(&c.token)
                    .json(&body),
            )
        };
        let (s, _, b) = patch(&fresh_sid, json!({"quantity": 4, "autoRenewEnabled": true})).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let (s, _, b) = patch(
            &fresh_sid,
            json!({"quantity": 4, "status": "deleted", "autoRenewEnabled": true}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert_eq!(b["status"], "deleted");
        let (s, _, b) = patch(
            &fresh_sid,
            json!({"quantity": 4, "status": "active", "autoRenewEnabled": true}),
        )
        .await;
        assert_error(s, &b, 400, 2011);
        let (s, _, b) = patch(
            &renew_sid,
            json!({"quantity": 5, "autoRenewEnabled": false}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    // Move the clock: age one subscription by 10 days, and end the term of the one with
    // auto-renew off, by editing the state file between runs.
    let mut saved: Value = read_state_file(&state_file);
    let now = chrono::Utc::now();
    for sub in saved["customers"][&id]["subscriptions"]
        .as_array_mut()
        .unwrap()
    {
        if sub["id"] == old_sid.as_str() {
            sub["creation_date"] = json!((now - chrono::Duration::days(10)).to_rfc3339());
        }
        if sub["id"] == renew_sid.as_str() {
            sub["creation_date"] = json!((now - chrono::Duration::days(400)).to_rfc3339());
            sub["commitment_end_date"] = json!((now - chrono::Duration::days(30)).to_rfc3339());
        }
    }
    std::fs::write(&state_file, serde_json::to_vec(&saved).unwrap()).unwrap();
    let sb = Sandbox::start_legacy(&["--state", &state_arg]);
    let c = Client::new(&sb);
    let patch = |sid: &str, body: Value| {
        c.send(
            c.http
                .patch(format!("{}/v1/customers/{id}/subscriptions/{sid}", c.base))
                .bearer_auth(&c.token)
                .json(&body),
        )
    };
    let (s, _, b) = patch(&old_sid, json!({"quantity": 4, "autoRenewEnabled": true})).await;
    assert_error(s, &b, 400, 800090);
    let (s, _, b) = patch(
        &old_sid,
        json!({"quantity": 5, "status": "deleted", "autoRenewEnabled": true}),
    )
    .await;
    assert_error(s, &b, 400, 900117);
    let (s, _, b) = patch(&old_sid, json!({"quantity": 8, "autoRenewEnabled": true})).await;
    assert_eq!(s, StatusCode::OK, "seats can still grow: {b}");
    let (_, sub) = c
        .get(&format!("/v1/customers/{id}/subscriptions/{renew_sid}"))
        .await;
    assert_eq!(sub["status"], "expired");
    let (s, _, b) = patch(&renew_sid, json!({"quantity": 5, "autoRenewEnabled": true})).await;
    assert_error(s, &b, 400, 900277);
    // Expired and deleted subscriptions have left the pool: only the aged one (8) counts.
    let (_, skus) = c.get(&format!("/v1/customers/{id}/subscribedskus")).await;
    assert_eq!(pool(&skus, M365_E3_SKU)["activeUnits"], 8);
}

#[tokio::test]
async fn the_same_fault_seed_gives_the_same_faults() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let sb = Sandbox::start(&[
            "--fail-rate",
            "0.3",
            "--throttle-rate",
            "0.1",
            "--fault-seed",
            "9",
        ]);
        let http = reqwest::Client::new();
        let url = format!("{}/v1/offers?country=US", sb.url);
        let mut outcomes = Vec::new();
        for _ in 0..60 {
            outcomes.push(try_get(&http, &url, &sb.token).await);
        }
        runs.push(outcomes);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(runs[0].contains(&Outcome::Status(429)));
    assert!(runs[0].contains(&Outcome::Ok));
}

#[tokio::test]
async fn an_order_recorded_without_its_answer_is_still_not_placed_twice() {
    let wd = Workdir::new();
    let id = guid(15);
    let plan_path = one_customer_plan(&wd, &id, vec![line(E3_OFFER, E3_OFFER, 2, None)]);
    let state_file = wd.join("state.json");
    let state_arg = state_file.to_str().unwrap().to_string();
    let order = json!({"lineItems": [{"lineItemNumber": 0, "offerId": E3_OFFER, "quantity": 2}]});
    let orders = format!("/v1/customers/{id}/orders");
    let first = {
        let sb = Sandbox::start_legacy(&["--seed", &plan_path, "--state", &state_arg]);
        let (s, b) = Client::new(&sb)
            .post(&orders, order.clone(), Some("crash-1"))
            .await;
        assert_eq!(s, StatusCode::CREATED);
        b
    };
    // As if the process died after recording the order but before recording its answer.
    let mut saved: Value = read_state_file(&state_file);
    saved["replays"] = json!({});
    std::fs::write(&state_file, serde_json::to_vec(&saved).unwrap()).unwrap();
    let sb = Sandbox::start_legacy(&["--state", &state_arg]);
    let c = Client::new(&sb);
    let (s, again) = c.post(&orders, order, Some("crash-1")).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(again["id"], first["id"]);
    assert_eq!(
        again["lineItems"][0]["subscriptionId"],
        first["lineItems"][0]["subscriptionId"]
    );
    let state = c.state().await;
    assert_eq!(
        state_customer(&state, &id)["orders"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn defaults_to_loopback_and_a_random_token_printed_on_stderr() {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(crate::common::BIN)
        .arg("sandbox")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let mut token_line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut token_line)
        .unwrap();
    assert!(
        first.starts_with("cspmove sandbox listening on http://127.0.0.1:"),
        "{first:?}"
    );
    let url = first.trim().rsplit(' ').next().unwrap().to_string();
    let token = token_line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(token_line.contains("bearer token"), "{token_line:?}");
    let http = reqwest::Client::new();
    let ok = http
        .get(format!("{url}/v1/customers"))
        .bearer_auth(&token)
        .send()
        .await;
    let other = http
        .get(format!("{url}/v1/customers"))
        .bearer_auth("guess")
        .send()
        .await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(ok.unwrap().status(), StatusCode::OK);
    assert_eq!(other.unwrap().status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_clock_moves_old_channel_seats_through_warning_and_closes_windows() {
    let wd = Workdir::new();
    let id = guid(16);
    let mut expiring = line(E3_OFFER, E3_OFFER, 5, Some(3));
    expiring.expires_on = Some(chrono::Utc::now().date_naive() + chrono::Duration::days(10));
    let path = one_customer_plan(&wd, &id, vec![expiring]);
    let sb = Sandbox::start(&["--seed", &path]);
    let c = Client::new(&sb);
    let skus_path = format!("/v1/customers/{id}/subscribedskus");
    let (_, skus) = c.get(&skus_path).await;
    let e3 = pool(&skus, E3_SKU);
    assert_eq!(
        (e3["activeUnits"].as_u64(), e3["warningUnits"].as_u64()),
        (Some(5), Some(0))
    );

    // A new-commerce subscription bought today.
    let carts = format!("/v1/customers/{id}/carts");
    let (_, cart) = c
        .post(&carts, json!({"lineItems": [{"id": 0, "catalogItemId": "CFQ7TTC0LF8R:0001:CFQ7TTC0KCSV", "quantity": 3, "billingCycle": "monthly", "termDuration": "P1M"}]}), None)
        .await;
    let (_, result) = c
        .post(
            &format!("{carts}/{}/checkout", cart["id"].as_str().unwrap()),
            Value::Null,
            None,
        )
        .await;
    let sid = result["orders"][0]["lineItems"][0]["subscriptionId"]
        .as_str()
        .unwrap()
        .to_string();

    let (s, clock) = c
        .post("/sandbox/clock", json!({"advanceDays": 11}), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{clock}");
    assert!(clock["offsetSeconds"].as_i64().unwrap() >= 11 * 86_400 - 5);
    let (_, skus) = c.get(&skus_path).await;
    let e3 = pool(&skus, E3_SKU);
    // The old channel's 5 seats are in warning; the 3 NCE seats are active.
    assert_eq!(e3["activeUnits"], 3);
    assert_eq!(e3["warningUnits"], 5);
    assert_eq!(e3["totalUnits"], 8);
    assert_eq!(e3["consumedUnits"], 3);
    let (s, _, b) = c
        .send(
            c.http
                .patch(format!("{}/v1/customers/{id}/subscriptions/{sid}", c.base))
                .bearer_auth(&c.token)
                .json(&json!({"quantity": 2, "autoRenewEnabled": true})),
        )
        .await;
    assert_error(s, &b, 400, 800090);

    c.post("/sandbox/clock", json!({"advanceDays": 30}), None)
        .await;
    let (_, skus) = c.get(&skus_path).await;
    let e3 = pool(&skus, E3_SKU);
    assert_eq!(e3["warningUnits"], 0);
    assert_eq!(e3["suspendedUnits"], 5);
    assert_eq!(e3["availableUnits"], 0);

    let (s, b) = c
        .post(
            "/sandbox/clock",
            json!({"now": "2001-01-01T00:00:00Z"}),
            None,
        )
        .await;
    assert_error(s, &b, 400, 800002);
    let (s, b) = c.get("/sandbox/clock").await;
    assert_eq!(s, StatusCode::OK);
    assert!(b["now"].as_str().unwrap().ends_with('Z'));
}

// ---------------------------------------------------------------------------------------
// Today's rules: deprecated legacy offers, MFA, GDAP roles; the clock's bounds.

/// A form-encoded POST to a token endpoint; returns the JSON answer.
async fn token_for(sb: &Sandbox, pairs: &[(&str, &str)]) -> Value {
    let body = pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
            )
        })
        .collect::<Vec<_>>()
        .join("&");
    let resp = reqwest::Client::new()
        .post(format!("{}/partner.example/oauth2/v2.0/token", sb.url))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

async fn user_token(sb: &Sandbox, refresh: &str) -> String {
    let t = token_for(
        sb,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "app"),
            ("client_secret", "s"),
            ("refresh_token", refresh),
        ],
    )
    .await;
    t["access_token"].as_str().unwrap().to_string()
}

async fn app_token(sb: &Sandbox) -> String {
    let t = token_for(
        sb,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "app"),
            ("client_secret", "s"),
        ],
    )
    .await;
    t["access_token"].as_str().unwrap().to_string()
}

/// GET with a given token and extra headers: (status, headers, body).
async fn get_as(
    sb: &Sandbox,
    token: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut req = reqwest::Client::new()
        .get(format!("{}{path}", sb.url))
        .bearer_auth(token);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let h = resp.headers().clone();
    let text = resp.text().await.unwrap();
    (
        status,
        h,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn clock_answers_400_to_an_absurd_advance_instead_of_dropping_the_connection() {
    let sb = Sandbox::start(&[]);
    let c = Client::new(&sb);
    for bad in [
        json!(1e308),
        json!(-3),
        json!(2.5),
        json!(1_000_000_000_000i64),
    ] {
        let (s, b) = c
            .post("/sandbox/clock", json!({"advanceDays": bad}), None)
            .await;
        assert_error(s, &b, 400, 800002);
        assert!(
            b["description"].as_str().unwrap().contains("advanceDays"),
            "{b}"
        );
    }
    // The clock did not move, and still moves when asked properly.
    let (_, before) = c.get("/sandbox/clock").await;
    assert_eq!(before["offsetSeconds"], 0);
    let (s, after) = c
        .post("/sandbox/clock", json!({"advanceDays": 36525}), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{after}");
    assert!(after["offsetSeconds"].as_i64().unwrap() > 36524 * 86400);
}

#[tokio::test]
async fn a_new_purchase_of_a_deprecated_legacy_offer_is_refused_with_2091() {
    let wd = Workdir::new();
    let id = guid(31);
    let path = one_customer_plan(&wd, &id, vec![line(E3_OFFER, E3_OFFER, 2, None)]);
    let sb = Sandbox::start(&["--seed", &path]);
    let c = Client::new(&sb);
    let (s, b) = c
        .post(
            &format!("/v1/customers/{id}/orders"),
            json!({"lineItems": [{"lineItemNumber": 0, "offerId": E3_OFFER, "quantity": 3}]}),
            Some("depr-1"),
        )
        .await;
    assert_error(s, &b, 403, 2091);
    // The refusal names the new-commerce equivalent (Office 365 E3), as Partner Center's does.
    let text = b["description"].as_str().unwrap();
    assert!(text.contains("no longer available"), "{text}");
    assert!(text.contains("CFQ7TTC0LF8R:0001:CFQ7TTC0KCSV"), "{text}");
    assert_eq!(
        b["data"],
        json!([
            "productId : CFQ7TTC0LF8R",
            "skuId : 0001",
            "availabilityId : CFQ7TTC0KCSV"
        ])
    );
    // Nothing was bought; the new-commerce item it names can be.
    let st = c.state().await;
    assert_eq!(state_customer(&st, &id)["orders"], json!([]));
    let (s, cart) = c
        .post(
            &format!("/v1/customers/{id}/carts"),
            json!({"lineItems": [{"id": 0, "catalogItemId": "CFQ7TTC0LF8R:0001:CFQ7TTC0KCSV", "quantity": 3, "billingCycle": "monthly", "termDuration": "P1M"}]}),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{cart}");
    assert!(cart["lineItems"][0].get("error").is_none(), "{cart}");
    // The offers stay listed (renewals and reads still use them).
    let (s, offer) = c.get(&format!("/v1/offers/{E3_OFFER}?country=US")).await;
    assert_eq!(s, StatusCode::OK, "{offer}");
}

#[tokio::test]
async fn require_mfa_answers_401_900421_to_app_user_tokens_without_the_claim() {
    let wd = Workdir::new();
    let id = guid(32);
    let path = one_customer_plan(&wd, &id, vec![line(E3_OFFER, E3_OFFER, 2, None)]);
    let sb = Sandbox::start(&["--seed", &path, "--require-mfa"]);
    let with_mfa = user_token(&sb, "refresh-ok").await;
    let without = user_token(&sb, "nomfa-refresh").await;
    let app_only = app_token(&sb).await;
    let users = format!("/v1/customers/{id}/users");

    let (s, h, b) = get_as(&sb, &without, "/v1/customers", &[]).await;
    assert_error(s, &b, 401, 900421);
    assert!(
        h["www-authenticate"].to_str().unwrap().contains("OAuth"),
        "{h:?}"
    );
    let (s, _, b) = get_as(&sb, &without, &users, &[]).await;
    assert_error(s, &b, 401, 900421);
    // A refresh through a non-MFA sign-in keeps giving non-MFA tokens.
    let refreshed = token_for(
        &sb,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "app"),
            ("client_secret", "s"),
            ("refresh_token", "nomfa-refresh"),
        ],
    )
    .await;
    let again = user_token(&sb, refreshed["refresh_token"].as_str().unwrap()).await;
    let (s, _, b) = get_as(&sb, &again, "/v1/customers", &[]).await;
    assert_error(s, &b, 401, 900421);

    for token in [&with_mfa, &sb.token, &app_only] {
        let (s, _, b) = get_as(&sb, token, "/v1/customers", &[]).await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    let (s, _, b) = get_as(&sb, &with_mfa, &users, &[]).await;
    assert_eq!(s, StatusCode::OK, "{b}");

    // ValidateMfa: true tests the token instead of running the call.
    let (s, _, b) = get_as(&sb, &without, &users, &[("ValidateMfa", "true")]).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["isMfaCompliant"], false, "{b}");
    let (s, _, b) = get_as(&sb, &with_mfa, &users, &[("ValidateMfa", "true")]).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["isMfaCompliant"], true, "{b}");
    // Admin routes are not Partner Center's: any valid token reads them.
    let (s, _, _) = get_as(&sb, &without, "/sandbox/state", &[]).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn without_require_mfa_tokens_lacking_the_claim_still_work() {
    let sb = Sandbox::start(&[]);
    let without = user_token(&sb, "nomfa-refresh").await;
    let (s, _, b) = get_as(&sb, &without, "/v1/customers", &[]).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, _, b) = get_as(&sb, &without, "/v1/customers", &[("ValidateMfa", "true")]).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["isMfaCompliant"], false);
    assert_eq!(b["mfaRequired"], false);
}

/// A plan of `n` accepted customers with two users each holding Office 365 E3.
fn many_customers_plan(wd: &Workdir, n: u32) -> (String, Vec<String>) {
    let ids: Vec<String> = (1..=n).map(|i| guid(100 + i)).collect();
    let customers = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            customer(
                Some(id.clone()),
                &format!("c{i}.example"),
                Relationship::Accepted,
                vec![line(E3_OFFER, M365_E3_OFFER, 2, Some(2))],
            )
        })
        .collect();
    (write_plan(wd, &plan(customers)), ids)
}

#[tokio::test]
async fn missing_role_refuses_user_and_licence_calls_for_that_share_of_customers() {
    let wd = Workdir::new();
    let (path, ids) = many_customers_plan(&wd, 40);
    let refused = |sb: Sandbox, ids: Vec<String>| async move {
        let c = Client::new(&sb);
        let mut refused = Vec::new();
        for id in &ids {
            let (s, b) = c.get(&format!("/v1/customers/{id}/users")).await;
            match s.as_u16() {
                200 => {}
                403 => {
                    assert_error(s, &b, 403, 403);
                    let text = b["description"].as_str().unwrap();
                    assert!(text.contains("GDAP"), "{text}");
                    assert!(text.contains("Directory Readers"), "{text}");
                    assert_eq!(
                        b["data"][1],
                        "RequiredGdapRoles : Directory Readers, Global Reader or User Administrator"
                    );
                    refused.push(id.clone());
                }
                other => panic!("{other}: {b}"),
            }
        }
        (sb, refused)
    };
    let sb = Sandbox::start(&["--seed", &path, "--missing-role", "0.5"]);
    let (sb, first) = refused(sb, ids.clone()).await;
    assert!((8..=32).contains(&first.len()), "{} of 40", first.len());

    // Every user and licence call of such a customer is refused; commerce calls are not.
    let c = Client::new(&sb);
    let id = &first[0];
    let st = c.state().await;
    let uid = state_customer(&st, id)["users"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for path in [
        format!("/v1/customers/{id}/subscribedskus"),
        format!("/v1/customers/{id}/users/{uid}"),
        format!("/v1/customers/{id}/users/{uid}/licenses"),
    ] {
        let (s, b) = c.get(&path).await;
        assert_error(s, &b, 403, 403);
    }
    let (s, b) = c
        .post(
            &format!("/v1/customers/{id}/users/{uid}/licenseupdates"),
            json!({"licensesToAssign": [{"skuId": M365_E3_SKU}]}),
            None,
        )
        .await;
    assert_error(s, &b, 403, 403);
    assert!(
        b["description"]
            .as_str()
            .unwrap()
            .contains("License Administrator"),
        "{b}"
    );
    assert_eq!(
        b["data"][0],
        "MissingPermission : microsoft.directory/users/assignLicense"
    );
    let (s, b) = c.get(&format!("/v1/customers/{id}/subscriptions")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    drop(sb);

    // Deterministic per customer: another process picks the same customers.
    let sb = Sandbox::start(&["--seed", &path, "--missing-role", "0.5"]);
    let (_sb, second) = refused(sb, ids.clone()).await;
    assert_eq!(first, second);
    let sb = Sandbox::start(&["--seed", &path, "--missing-role", "1"]);
    let (_sb, all) = refused(sb, ids.clone()).await;
    assert_eq!(all.len(), 40);
    let sb = Sandbox::start(&["--seed", &path]);
    let (_sb, none) = refused(sb, ids).await;
    assert!(none.is_empty());
    wd.run(["sandbox", "--missing-role", "1.5"])
        .expect_code(2)
        .expect_stderr_contains("--missing-role");
}

/// The same switches seen from another HTTP client, the way the Python SDK probes do it
/// (urllib, PascalCase body keys, `MS-RequestId`). Skipped where python3 is missing.
#[tokio::test]
async fn python_probe_sees_todays_rules() {
    if std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("python3 not found: probe skipped");
        return;
    }
    let wd = Workdir::new();
    let id = guid(33);
    let path = one_customer_plan(&wd, &id, vec![line(E3_OFFER, E3_OFFER, 2, None)]);
    let sb = Sandbox::start(&["--seed", &path, "--require-mfa", "--missing-role", "1"]);
    let probe = r#"
import json, sys, urllib.request, urllib.parse, urllib.error
base, token, cid, offer = sys.argv[1:5]
def call(method, path, tok, body=None, form=None, headers=None):
    data = None
    h = {"Accept": "application/json", "MS-RequestId": "py-" + method + path}
    if tok: h["Authorization"] = "Bearer " + tok
    if body is not None:
        data = json.dumps(body).encode(); h["Content-Type"] = "application/json"
    if form is not None:
        data = urllib.parse.urlencode(form).encode(); h["Content-Type"] = "application/x-www-form-urlencoded"
    h.update(headers or {})
    req = urllib.request.Request(base + path, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req) as r: return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e: return e.code, json.loads(e.read() or b"null")
out = {}
_, t = call("POST", "/partner/oauth2/token", None, form={"grant_type": "refresh_token", "client_id": "a", "client_secret": "s", "refresh_token": "nomfa-x", "resource": "https://api.partnercenter.microsoft.com"})
out["nomfa"] = call("GET", "/v1/customers", t["access_token"])
out["validate"] = call("GET", "/v1/customers", t["access_token"], headers={"ValidateMfa": "true"})
out["order"] = call("POST", "/v1/customers/%s/orders" % cid, token, body={"BillingCycle": "Monthly", "LineItems": [{"LineItemNumber": 0, "OfferId": offer, "Quantity": 1}]})
out["users"] = call("GET", "/v1/customers/%s/users" % cid, token)
out["clock"] = call("POST", "/sandbox/clock", token, body={"advanceDays": 1e308})
print(json.dumps(out))
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", probe, &sb.url, &sb.token, &id, E3_OFFER])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    let check = |name: &str, status: u64, code: i64| {
        assert_eq!(got[name][0], status, "{name}: {}", got[name]);
        assert_eq!(got[name][1]["code"], code, "{name}: {}", got[name]);
        assert_eq!(got[name][1]["source"], "PartnerFD", "{name}: {}", got[name]);
    };
    check("nomfa", 401, 900421);
    check("order", 403, 2091);
    check("users", 403, 403);
    check("clock", 400, 800002);
    assert_eq!(got["validate"][0], 200);
    assert_eq!(got["validate"][1]["isMfaCompliant"], false);
}

// ---------------------------------------------------------------------------------------
// Durable state: SIGKILL, torn records, compaction.

/// Orders as `/sandbox/state` lists them: request id → subscription ids.
fn orders_by_request(state: &Value, id: &str) -> BTreeMap<String, Vec<String>> {
    state_customer(state, id)["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["requestId"].as_str().unwrap_or("").to_string(),
                o["lineItems"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| l["subscriptionId"].as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect()
}

/// `/sandbox/state` without the per-process request counters.
fn customers_of(state: &Value) -> Value {
    state["customers"].clone()
}

#[tokio::test]
async fn sigkill_during_a_burst_keeps_every_answered_change_and_nothing_else() {
    let wd = Workdir::new();
    let id = guid(41);
    let path = one_customer_plan(&wd, &id, vec![line(E3_OFFER, M365_E3_OFFER, 40, Some(40))]);
    let state_file = wd.join("burst-state");
    let state_arg = state_file.to_str().unwrap().to_string();
    let mut sb = Sandbox::start_legacy(&["--seed", &path, "--state", &state_arg]);
    let c = Client::new(&sb);
    let st = c.state().await;
    let users: Vec<String> = state_customer(&st, &id)["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    // Seats of the new SKU, so licence swaps can be part of the burst.
    let (s, b) = c
        .post(
            &format!("/v1/customers/{id}/orders"),
            json!({"lineItems": [{"lineItemNumber": 0, "offerId": M365_E3_OFFER, "quantity": 40}]}),
            Some("seats"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");

    let answered_orders = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let answered_swaps = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // The second half of the burst leaves only once the first has been partly answered,
    // right before the kill: however fast or loaded the machine, the kill lands while
    // requests are in flight.
    let second_half = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
    let mut tasks = Vec::new();
    for n in 0..300usize {
        let (http, base, token) = (c.http.clone(), c.base.clone(), c.token.clone());
        let (orders, swaps, count) = (
            answered_orders.clone(),
            answered_swaps.clone(),
            count.clone(),
        );
        let gate = second_half.clone();
        let id = id.clone();
        let user = users[n % users.len()].clone();
        let n_users = users.len();
        tasks.push(tokio::spawn(async move {
            let _permit = if n >= 150 {
                Some(gate.acquire().await.expect("gate open"))
            } else {
                None
            };
            let rid = format!("burst-{n}");
            let (path, body) = if n % 3 == 0 && n / 3 < n_users {
                (
                    format!("{base}/v1/customers/{id}/users/{user}/licenseupdates"),
                    json!({"licensesToAssign": [{"skuId": M365_E3_SKU}], "licensesToRemove": [E3_SKU]}),
                )
            } else {
                (
                    format!("{base}/v1/customers/{id}/orders"),
                    json!({"lineItems": [{"lineItemNumber": 0, "offerId": E3_OFFER, "quantity": 1}]}),
                )
            };
            let is_swap = path.ends_with("licenseupdates");
            let resp = http
                .post(path)
                .bearer_auth(token)
                .header("MS-RequestId", &rid)
                .json(&body)
                .send()
                .await;
            if let Ok(r) = resp
                && r.status().is_success()
                && r.bytes().await.is_ok()
            {
                if is_swap {
                    swaps.lock().unwrap().push(user);
                } else {
                    orders.lock().unwrap().push(rid);
                }
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }));
    }
    // Kill in the middle of the burst.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while count.load(std::sync::atomic::Ordering::SeqCst) < 60 {
        assert!(
            std::time::Instant::now() < deadline,
            "the burst did not start"
        );
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    second_half.add_permits(150);
    tokio::task::yield_now().await;
    sb.child.kill().unwrap();
    sb.child.wait().unwrap();
    for t in tasks {
        let _ = t.await;
    }
    let answered: Vec<String> = answered_orders.lock().unwrap().clone();
    let swapped: Vec<String> = answered_swaps.lock().unwrap().clone();
    assert!(
        answered.len() + swapped.len() < 300,
        "the kill came after the burst"
    );

    let sb = Sandbox::start_legacy(&["--state", &state_arg]);
    let st = Client::new(&sb).state().await;
    let orders = orders_by_request(&st, &id);
    // Every answered order is there…
    for rid in &answered {
        assert!(orders.contains_key(rid), "answered order {rid} lost");
    }
    // …and nothing else: only orders that were sent, each whole (its subscription there).
    let subs: Vec<String> = state_customer(&st, &id)["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(subs.len(), orders.values().map(Vec::len).sum::<usize>());
    for (rid, sids) in &orders {
        assert!(rid == "seats" || rid.starts_with("burst-"), "{rid}");
        for sid in sids {
            assert!(subs.contains(sid), "order {rid} without its subscription");
        }
    }
    // Every answered licence swap is there.
    let cust = state_customer(&st, &id);
    for uid in &swapped {
        let user = cust["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["id"] == uid.as_str())
            .unwrap();
        assert_eq!(user["licenses"], json!([M365_E3_SKU]), "{user}");
    }
    // The pools agree with the users (consumed = holders).
    let holders = cust["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["licenses"] == json!([M365_E3_SKU]))
        .count();
    let pool = cust["skus"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["skuId"] == M365_E3_SKU)
        .unwrap();
    assert_eq!(pool["consumedUnits"], holders);
}

#[tokio::test]
async fn a_torn_last_record_is_ignored_and_a_damaged_middle_refuses_to_start() {
    let wd = Workdir::new();
    let id = guid(42);
    let path = one_customer_plan(&wd, &id, vec![line(E3_OFFER, E3_OFFER, 2, None)]);
    let state_file = wd.join("torn-state");
    let state_arg = state_file.to_str().unwrap().to_string();
    let before = {
        let sb = Sandbox::start_legacy(&["--seed", &path, "--state", &state_arg]);
        let c = Client::new(&sb);
        for n in 0..3 {
            let (s, b) = c
                .post(
                    &format!("/v1/customers/{id}/orders"),
                    json!({"lineItems": [{"lineItemNumber": 0, "offerId": E3_OFFER, "quantity": 1}]}),
                    Some(&format!("torn-{n}")),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{b}");
        }
        customers_of(&c.state().await)
        // Dropped: SIGKILL, so the file is the snapshot plus three batches.
    };
    let text = std::fs::read_to_string(&state_file).unwrap();
    assert!(
        text.lines().count() >= 4,
        "{} records",
        text.lines().count()
    );
    // A crash in the middle of the next write: a record cut short.
    let mut torn = text.clone();
    torn.push_str("0123456789abcdef {\"batch\":[{\"op\":\"clock\",\"offset_sec");
    std::fs::write(&state_file, &torn).unwrap();
    let mut cmd = wd.command(["sandbox", "--state", &state_arg, "--token", "t"]);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
        &mut first,
    )
    .unwrap();
    assert!(
        first.starts_with("cspmove sandbox listening on "),
        "{first}"
    );
    let url = first
        .trim()
        .trim_start_matches("cspmove sandbox listening on ")
        .to_string();
    let st: Value = reqwest::Client::new()
        .get(format!("{url}/sandbox/state"))
        .bearer_auth("t")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(customers_of(&st), before);
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cut short by a crash"), "{stderr}");
    // The clean stop compacted the file into one snapshot.
    assert_eq!(
        std::fs::read_to_string(&state_file)
            .unwrap()
            .lines()
            .count(),
        1
    );

    // A damaged record followed by more records is not a crash: refuse, say where.
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let flipped = if lines[1].starts_with('0') { "1" } else { "0" };
    lines[1].replace_range(0..1, flipped);
    std::fs::write(&state_file, lines.join("\n") + "\n").unwrap();
    wd.run(["sandbox", "--state", &state_arg])
        .expect_code(1)
        .expect_stderr_contains("damaged at byte");
}

#[tokio::test]
async fn compaction_keeps_the_state_identical() {
    let wd = Workdir::new();
    let id = guid(43);
    let path = one_customer_plan(&wd, &id, vec![line(E3_OFFER, M365_E3_OFFER, 3, Some(3))]);
    let state_file = wd.join("compact-state");
    let state_arg = state_file.to_str().unwrap().to_string();
    let before = {
        let sb = Sandbox::start_legacy(&["--seed", &path, "--state", &state_arg]);
        let c = Client::new(&sb);
        let uid = state_customer(&c.state().await, &id)["users"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (s, order) = c
            .post(
                &format!("/v1/customers/{id}/orders"),
                json!({"lineItems": [{"lineItemNumber": 0, "offerId": M365_E3_OFFER, "quantity": 3}]}),
                Some("c-1"),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        let sid = order["lineItems"][0]["subscriptionId"].as_str().unwrap();
        let (s, _, _) = c
            .send(
                c.http
                    .patch(format!("{}/v1/customers/{id}/subscriptions/{sid}", c.base))
                    .bearer_auth(&c.token)
                    .json(&json!({"quantity": 5, "autoRenewEnabled": true})),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let (s, _) = c
            .post(
                &format!("/v1/customers/{id}/users/{uid}/licenseupdates"),
                json!({"licensesToAssign": [{"skuId": M365_E3_SKU}], "licensesToRemove": [E3_SKU]}),
                Some("c-2"),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        let (s, cart) = c
            .post(
                &format!("/v1/customers/{id}/carts"),
                json!({"lineItems": [{"id": 0, "catalogItemId": "CFQ7TTC0LFLX:0001:CFQ7TTC0LB30", "quantity": 2, "billingCycle": "annual", "termDuration": "P1Y"}]}),
                Some("c-3"),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        let (s, _) = c
            .post(
                &format!(
                    "/v1/customers/{id}/carts/{}/checkout",
                    cart["id"].as_str().unwrap()
                ),
                json!(null),
                Some("c-4"),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        c.post("/sandbox/clock", json!({"advanceDays": 3}), None)
            .await;
        (customers_of(&c.state().await), read_state_file(&state_file))
    };
    assert!(
        std::fs::read_to_string(&state_file)
            .unwrap()
            .lines()
            .count()
            > 1
    );
    // Restart: the log is compacted on start into one snapshot holding the same state.
    let sb = Sandbox::start_legacy(&["--state", &state_arg]);
    let c = Client::new(&sb);
    assert_eq!(
        std::fs::read_to_string(&state_file)
            .unwrap()
            .lines()
            .count(),
        1
    );
    let mut after = read_state_file(&state_file);
    // The clock offset is re-derived from the real time at each move; the rest is equal.
    after["clock_offset_seconds"] = before.1["clock_offset_seconds"].clone();
    assert_eq!(after, before.1);
    let now = customers_of(&c.state().await);
    assert_eq!(now, before.0);
    // A replayed request id still answers from the compacted state.
    let (s, again) = c
        .post(
            &format!("/v1/customers/{id}/orders"),
            json!({"lineItems": [{"lineItemNumber": 0, "offerId": M365_E3_OFFER, "quantity": 3}]}),
            Some("c-1"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(orders_by_request(&c.state().await, &id).len(), 2, "{again}");
}

// ---------------------------------------------------------------------------------------
// Catalog fidelity: the built-in catalog, served.

#[tokio::test]
async fn products_serve_every_new_commerce_item_of_the_builtin_catalog() {
    let wd = Workdir::new();
    let id = guid(51);
    let path = one_customer_plan(&wd, &id, vec![line(E3_OFFER, E3_OFFER, 2, None)]);
    let sb = Sandbox::start(&["--seed", &path]);
    let c = Client::new(&sb);
    let builtin = cspmove::catalog::Catalog::builtin();
    let mut wanted = Vec::new();
    for product in builtin.products() {
        for offer in &product.offers {
            if offer.kind == cspmove::catalog::OfferKind::NewCommerce {
                wanted.push((offer.id.clone(), product.sku_id.clone().unwrap()));
            }
        }
    }
    assert!(wanted.len() >= 10, "{wanted:?}");
    for country in ["US", "DE"] {
        let (s, list) = c
            .get(&format!(
                "/v1/products?country={country}&targetView=OnlineServices"
            ))
            .await;
        assert_eq!(s, StatusCode::OK, "{list}");
        let listed: Vec<&str> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap())
            .collect();
        for (item, sku_id) in &wanted {
            let (pid, sid) = item.split_once(':').unwrap();
            assert!(listed.contains(&pid), "{pid} not listed in {country}");
            let (s, sku) = c
                .get(&format!("/v1/products/{pid}/skus/{sid}?country={country}"))
                .await;
            assert_eq!(s, StatusCode::OK, "{sku}");
            assert_eq!(sku["dynamicAttributes"]["provisioningId"], sku_id.as_str());
            let (s, avs) = c
                .get(&format!(
                    "/v1/products/{pid}/skus/{sid}/availabilities?country={country}"
                ))
                .await;
            assert_eq!(s, StatusCode::OK, "{avs}");
            let av = &avs["items"][0];
            assert_eq!(av["country"], country);
            let pairs: Vec<(String, String)> = av["terms"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| {
                    (
                        t["duration"].as_str().unwrap().to_string(),
                        t["billingCycle"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            let want: Vec<(String, String)> = [
                ("P1M", "Monthly"),
                ("P1Y", "Monthly"),
                ("P1Y", "Annual"),
                ("P3Y", "Monthly"),
                ("P3Y", "Annual"),
                ("P3Y", "Triennial"),
            ]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
            assert_eq!(pairs, want, "{item}");
        }
    }
    // Business products keep their 300-seat cap.
    let (_, basic) = c
        .get("/v1/products/CFQ7TTC0LH18/skus/0001?country=US")
        .await;
    assert_eq!(basic["maximumQuantity"], 300);
    // Term and billing reach the cart: a sold pair is a clean line, an unsold one 10013.
    let carts = format!("/v1/customers/{id}/carts");
    let cart = |term: &str, billing: &str| json!({"lineItems": [{"id": 0, "catalogItemId": "CFQ7TTC0LFLX:0001:CFQ7TTC0LB30", "quantity": 2, "termDuration": term, "billingCycle": billing}]});
    let (s, b) = c.post(&carts, cart("P3Y", "triennial"), None).await;
    assert_eq!(s, StatusCode::CREATED);
    assert!(b["lineItems"][0].get("error").is_none(), "{b}");
    let (s, b) = c.post(&carts, cart("P1M", "annual"), None).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(b["lineItems"][0]["error"]["errorCode"], 10013, "{b}");
    let (s, b) = c.post(&carts, cart("P3Y", "monthly"), None).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, out) = c
        .post(
            &format!("{carts}/{}/checkout", b["id"].as_str().unwrap()),
            json!(null),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{out}");
    let st = c.state().await;
    let sub = &state_customer(&st, &id)["subscriptions"][0];
    assert_eq!(sub["offerId"], "CFQ7TTC0LFLX:0001:CFQ7TTC0LB30");
    let (_, full) = c
        .get(&format!(
            "/v1/customers/{id}/subscriptions/{}",
            sub["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(full["termDuration"], "P3Y");
    assert_eq!(full["billingCycle"], "monthly");
}

const ARCHIVING_ADDON: &str = "2828BE95-46BA-4F91-B2FD-0BEF192ECF60";

impl Client {
    async fn patch(&self, path: &str, body: Value, request_id: &str) -> (StatusCode, Value) {
        let req = self
            .http
            .patch(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("MS-RequestId", request_id)
            .json(&body);
        let (s, _, b) = self.send(req).await;
        (s, b)
    }
}

#[tokio::test]
async fn a_legacy_add_on_is_bought_by_patching_its_parents_order() {
    let wd = Workdir::new();
    let id = guid(71);
    let path = one_customer_plan(&wd, &id, vec![line(E3_OFFER, E3_OFFER, 5, None)]);
    let sb = Sandbox::start_legacy(&["--seed", &path]);
    let c = Client::new(&sb);
    let orders = format!("/v1/customers/{id}/orders");
    let (s, base) = c
        .post(
            &orders,
            json!({"lineItems": [{"lineItemNumber": 0, "offerId": E3_OFFER, "quantity": 5}]}),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{base}");
    let order_id = base["id"].as_str().unwrap().to_string();
    let parent = base["lineItems"][0]["subscriptionId"]
        .as_str()
        .unwrap()
        .to_string();
    let addon = |parent: &str, qty: i64| {
        json!({"referenceCustomerId": id, "lineItems": [{"lineItemNumber": 0,
            "offerId": ARCHIVING_ADDON, "friendlyName": "archive", "quantity": qty,
            "parentSubscriptionId": parent}], "attributes": {"objectType": "Order"}})
    };
    // An add-on is not bought in a new order: the error names the documented path.
    let mut in_new_order = addon(&parent, 2);
    in_new_order
        .as_object_mut()
        .unwrap()
        .remove("referenceCustomerId");
    let (s, b) = c.post(&orders, in_new_order, None).await;
    assert_error(s, &b, 400, 800002);
    assert!(b["description"].as_str().unwrap().contains("PATCH"), "{b}");

    let patch = format!("{orders}/{order_id}");
    // Only add-ons, only with a parent of this order, only known orders.
    let (s, b) = c
        .patch(
            &patch,
            json!({"lineItems": [{"lineItemNumber": 0, "offerId": E3_OFFER, "quantity": 1,
                "parentSubscriptionId": parent}]}),
            "11111111-0000-4000-8000-000000000001",
        )
        .await;
    assert_error(s, &b, 400, 800002);
    let (s, b) = c
        .patch(
            &patch,
            addon(&guid(99), 2),
            "11111111-0000-4000-8000-000000000002",
        )
        .await;
    assert_error(s, &b, 400, 800002);
    let (s, b) = c
        .patch(
            &format!("{orders}/{}", guid(98)),
            addon(&parent, 2),
            "11111111-0000-4000-8000-000000000003",
        )
        .await;
    assert_error(s, &b, 404, 1000);
    let (s, b) = c
        .patch(
            &patch,
            addon(&parent, 0),
            "11111111-0000-4000-8000-000000000004",
        )
        .await;
    assert_error(s, &b, 400, 900275);

    // The documented PATCH: 200 with the whole order, the add-on numbered after the base.
    let rid = "11111111-0000-4000-8000-000000000005";
    let (s, updated) = c.patch(&patch, addon(&parent, 2), rid).await;
    assert_eq!(s, StatusCode::OK, "{updated}");
    assert_eq!(updated["id"], order_id.as_str());
    let items = updated["lineItems"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{updated}");
    assert_eq!(items[1]["lineItemNumber"], 1);
    assert_eq!(items[1]["offerId"], ARCHIVING_ADDON);
    assert_eq!(items[1]["parentSubscriptionId"], parent.as_str());
    let sid = items[1]["subscriptionId"].as_str().unwrap().to_string();
    let (_, sub) = c
        .get(&format!("/v1/customers/{id}/subscriptions/{sid}"))
        .await;
    assert_eq!(sub["orderId"], order_id.as_str(), "{sub}");
    assert_eq!(sub["parentSubscriptionId"], parent.as_str(), "{sub}");
    assert_eq!(sub["quantity"], 2);
    // The same request again is answered with the first answer: no second add-on.
    let (s, again) = c.patch(&patch, addon(&parent, 2), rid).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    let state = c.state().await;
    let t = state_customer(&state, &id);
    assert_eq!(t["subscriptions"].as_array().unwrap().len(), 2, "{t}");
    assert_eq!(t["orders"].as_array().unwrap().len(), 1, "{t}");
}

#[tokio::test]
async fn todays_rules_refuse_a_legacy_add_on_and_never_patch_a_new_commerce_order() {
    let wd = Workdir::new();
    let id = guid(72);
    let path = one_customer_plan(&wd, &id, vec![line(E3_OFFER, E3_OFFER, 5, None)]);
    // A legacy base bought while legacy offers still sold (the state carries it over).
    let state_file = wd.join("sb.state");
    let state_arg = state_file.to_string_lossy().into_owned();
    let (order_id, parent) = {
        let sb = Sandbox::start_legacy(&["--seed", &path, "--state", &state_arg]);
        let c = Client::new(&sb);
        let (s, base) = c
            .post(
                &format!("/v1/customers/{id}/orders"),
                json!({"lineItems": [{"lineItemNumber": 0, "offerId": E3_OFFER, "quantity": 5}]}),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{base}");
        (
            base["id"].as_str().unwrap().to_string(),
            base["lineItems"][0]["subscriptionId"]
                .as_str()
                .unwrap()
                .to_string(),
        )
    };
    let sb = Sandbox::start(&["--state", &state_arg]);
    let c = Client::new(&sb);
    let body = json!({"lineItems": [{"lineItemNumber": 0, "offerId": ARCHIVING_ADDON,
        "quantity": 2, "parentSubscriptionId": parent}]});
    let (s, b) = c
        .patch(
            &format!("/v1/customers/{id}/orders/{order_id}"),
            body,
            "22222222-0000-4000-8000-000000000001",
        )
        .await;
    assert_error(s, &b, 403, 2091);

    // A new-commerce order: its add-ons are cart lines, the order is never patched.
    let (s, cart) = c
        .post(
            &format!("/v1/customers/{id}/carts"),
            json!({"lineItems": [{"id": 0, "catalogItemId": "CFQ7TTC0LF8R:0001:CFQ7TTC0KCSV",
                "quantity": 3, "billingCycle": "monthly", "termDuration": "P1Y"}]}),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{cart}");
    let cart_id = cart["id"].as_str().unwrap();
    let (s, result) = c
        .post(
            &format!("/v1/customers/{id}/carts/{cart_id}/checkout"),
            Value::Null,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{result}");
    let nce_order = result["orders"][0]["id"].as_str().unwrap();
    let nce_sub = result["orders"][0]["lineItems"][0]["subscriptionId"]
        .as_str()
        .unwrap();
    let (s, b) = c
        .patch(
            &format!("/v1/customers/{id}/orders/{nce_order}"),
            json!({"lineItems": [{"lineItemNumber": 0, "offerId": ARCHIVING_ADDON,
                "quantity": 2, "parentSubscriptionId": nce_sub}]}),
            "22222222-0000-4000-8000-000000000002",
        )
        .await;
    assert_error(s, &b, 400, 800002);
    assert!(
        b["description"].as_str().unwrap().contains("cart lines"),
        "{b}"
    );
}

#[tokio::test]
async fn a_changing_requests_fault_depends_on_its_request_id_not_on_other_traffic() {
    let wd = Workdir::new();
    let id = guid(73);
    let path = one_customer_plan(&wd, &id, vec![line(E3_OFFER, E3_OFFER, 5, None)]);
    let cart = json!({"lineItems": [{"id": 0, "catalogItemId": "CFQ7TTC0LF8R:0001:CFQ7TTC0KCSV",
        "quantity": 3, "billingCycle": "monthly", "termDuration": "P1Y"}]});
    // What each of 12 sends of the same request meets: a status, or a dropped connection.
    let fates = |other_traffic: usize| {
        let (path, cart, id) = (path.clone(), cart.clone(), id.clone());
        async move {
            let sb = Sandbox::start(&["--seed", &path, "--fail-rate", "0.5", "--fault-seed", "42"]);
            let http = reqwest::Client::new();
            for _ in 0..other_traffic {
                let _ = http
                    .get(format!("{}/v1/customers", sb.url))
                    .bearer_auth(&sb.token)
                    .send()
                    .await;
                let _ = http
                    .post(format!("{}/v1/customers/{id}/carts", sb.url))
                    .bearer_auth(&sb.token)
                    .header("MS-RequestId", uuid::Uuid::new_v4().to_string())
                    .json(&cart)
                    .send()
                    .await;
            }
            let mut seen = Vec::new();
            for _ in 0..12 {
                let answer = http
                    .post(format!("{}/v1/customers/{id}/carts", sb.url))
                    .bearer_auth(&sb.token)
                    .header("MS-RequestId", "44444444-0000-4000-8000-000000000001")
                    .json(&cart)
                    .send()
                    .await;
                seen.push(match answer {
                    Ok(r) => r.status().as_u16().to_string(),
                    Err(_) => "dropped".to_string(),
                });
            }
            seen
        }
    };
    let quiet = fates(0).await;
    let busy = fates(9).await;
    assert_eq!(quiet, busy, "the same request met other fates");
    assert!(
        quiet.iter().any(|f| f.starts_with('2')) && quiet.iter().any(|f| !f.starts_with('2')),
        "want both answered and failed sends: {quiet:?}"
    );
}
