//! Integration tests of `cspmove sandbox`: the real binary on 127.0.0.1, driven with
//! reqwest (async, on a tokio test runtime; no extra reqwest features needed).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use cspmove::plan::model::{
    Customer, LicenseAction, Line, OriginalAction, Plan, Relationship, SCHEMA, Summary,
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
        body = resp.json().await.unwrap();
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
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");

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
    let sb = Sandbox::start(&["--seed", &path, "--accept", "none"]);
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
    let sb = Sandbox::start(&["--seed", &path]);
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
    let sb = Sandbox::start(&["--seed", &path, "--accept", "none"]);
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
    let sb = Sandbox::start(&["--seed", &path]);
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
        let sb = Sandbox::start(&[
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
    let sb = Sandbox::start(&[
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
