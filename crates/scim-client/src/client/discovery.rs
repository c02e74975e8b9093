//! Reading the server's own description of its resources: `GET /Schemas` and
//! `GET /ResourceTypes` (RFC 7644 §4). Read-only; nothing here changes how the
//! client behaves.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::ScimClient;
use super::transport::Call;
use crate::error::ScimError;
use crate::model::{ListResponse, ResourceTypeDefinition, SchemaDefinition};
use crate::observe::{Endpoint, Method};

/// A discovery listing: a `ListResponse`, or a bare array as some servers send.
#[derive(Deserialize)]
#[serde(untagged)]
enum Listing<T> {
    Array(Vec<T>),
    List(ListResponse<T>),
}

impl ScimClient {
    /// `GET /Schemas`: every schema the server describes.
    pub async fn schemas(&self) -> Result<Vec<SchemaDefinition>, ScimError> {
        self.discovery(Endpoint::Schemas, "ListResponse<Schema>")
            .await
    }

    /// `GET /ResourceTypes`: every resource type, with its schema extensions.
    pub async fn resource_types(&self) -> Result<Vec<ResourceTypeDefinition>, ScimError> {
        self.discovery(Endpoint::ResourceTypes, "ListResponse<ResourceType>")
            .await
    }

    async fn discovery<T: DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        what: &'static str,
    ) -> Result<Vec<T>, ScimError> {
        let call = Call {
            method: Method::Get,
            endpoint,
            path: format!("/{}", endpoint.as_str()),
            query: None,
            body: None,
        };
        let reply = self.call(&call).await?;
        Ok(match Self::decode::<Listing<T>>(&call, &reply, what)? {
            Listing::Array(items) => items,
            Listing::List(list) => list.resources,
        })
    }
}
