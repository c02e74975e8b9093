//! Helpers shared by the integration tests.

use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use testkit::scim::{CW_USER_EXT, PATCH_OP, ScimEmulator, ScimOptions, USER_SCHEMA};

pub const SCIM_JSON: &str = "application/scim+json";

/// A client with a short timeout and no connection reuse surprises.
pub fn client() -> Client {
    Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .expect("reqwest client")
}

pub async fn start_scim(options: ScimOptions) -> ScimEmulator {
    ScimEmulator::start(options)
        .await
        .expect("start SCIM emulator")
}

/// A SCIM endpoint plus its token and a client.
pub struct Scim {
    pub base: String,
    pub token: String,
    pub client: Client,
}

impl Scim {
    pub fn new(base: &str, token: &str) -> Self {
        Self {
            base: base.to_owned(),
            token: token.to_owned(),
            client: client(),
        }
    }

    pub fn of(emulator: &ScimEmulator) -> Self {
        Self::new(emulator.base_url(), emulator.token())
    }

    pub async fn get(&self, path_and_query: &str) -> Response {
        self.client
            .get(format!("{}{path_and_query}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("GET")
    }

    /// [`get`](Self::get), asserting nothing, the body as JSON.
    pub async fn get_json(&self, path_and_query: &str) -> Value {
        self.get(path_and_query)
            .await
            .json()
            .await
            .expect("a JSON body")
    }

    /// GET with a `filter` query parameter (percent-encoded by reqwest).
    pub async fn list(
        &self,
        resource: &str,
        filter: Option<&str>,
        start: usize,
        count: usize,
    ) -> Response {
        let mut query = vec![
            ("startIndex".to_owned(), start.to_string()),
            ("count".to_owned(), count.to_string()),
        ];
        if let Some(filter) = filter {
            query.push(("filter".to_owned(), filter.to_owned()));
        }
        self.client
            .get(format!("{}/{resource}", self.base))
            .bearer_auth(&self.token)
            .query(&query)
            .send()
            .await
            .expect("list")
    }

    /// [`list`](Self::list), asserting nothing, the body as JSON.
    pub async fn list_json(
        &self,
        resource: &str,
        filter: Option<&str>,
        start: usize,
        count: usize,
    ) -> Value {
        self.list(resource, filter, start, count)
            .await
            .json()
            .await
            .expect("a JSON list")
    }

    /// A POST of `body` to `resource`, to send (and change) as the test needs.
    pub fn post_request(&self, resource: &str, body: &Value) -> reqwest::RequestBuilder {
        self.client
            .post(format!("{}/{resource}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", SCIM_JSON)
            .body(body.to_string())
    }

    pub async fn post(&self, resource: &str, body: &Value) -> Response {
        self.post_request(resource, body)
            .send()
            .await
            .expect("POST")
    }

    pub async fn patch(&self, resource: &str, id: &str, body: &Value) -> Response {
        self.client
            .patch(format!("{}/{resource}/{id}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", SCIM_JSON)
            .body(body.to_string())
            .send()
            .await
            .expect("PATCH")
    }

    /// PATCH with the standard envelope around `operations`.
    pub async fn patch_ops(&self, resource: &str, id: &str, operations: Value) -> Response {
        self.patch(
            resource,
            id,
            &json!({"schemas": [PATCH_OP], "Operations": operations}),
        )
        .await
    }

    /// Creates a user and returns its id (asserting 201).
    pub async fn create_user(&self, user_name: &str, external_id: &str, keys: &[&str]) -> String {
        let response = self
            .post("Users", &user_body(user_name, external_id, keys))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "create {user_name}");
        id_of(&response.json().await.expect("json"))
    }
}

/// A full, strict-mode-valid user body.
pub fn user_body(user_name: &str, external_id: &str, keys: &[&str]) -> Value {
    let mut body = json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "externalId": external_id,
        "active": true,
        "displayName": format!("{user_name} display"),
        "name": {"formatted": format!("{user_name} display"), "givenName": user_name, "familyName": "display"},
        "emails": [{"value": format!("{user_name}@example.org"), "type": "work", "primary": true}],
    });
    if !keys.is_empty() {
        body["schemas"] = json!([USER_SCHEMA, CW_USER_EXT]);
        body[CW_USER_EXT] = json!({"sunkSshKeys": keys});
    }
    body
}

pub fn id_of(resource: &Value) -> String {
    resource["id"].as_str().expect("id").to_owned()
}

/// Status and parsed body (Null when empty or not JSON).
pub async fn status_and_body(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Status and `scimType` of an error response.
pub async fn scim_error(response: Response) -> (u16, Option<String>) {
    let (status, body) = status_and_body(response).await;
    (status, body["scimType"].as_str().map(str::to_owned))
}
