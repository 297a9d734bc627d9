//! The skill catalog service: publishing a folder (from a zip or an agent's
//! files), reading what a platform may see, deleting, reviewing.
//!
//! Publishing is one transaction: the skill row (locked by owner and name),
//! then the blob row, then the blob itself, written just before commit so a
//! refused upload writes nothing. Deleting takes the same locks in the same
//! order and removes a blob once no skill refers to it.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::blobs::{FsBlobStore, Sealed, SealedBlobs};
use super::folder::{Folder, Limits, MANIFEST};
use super::manifest::{self, Manifest};
use super::reviews::{self, NewReview, Review, Scorecard, Scores};
use super::store::search::{self, Hit};
use super::store::{self, FileEntry, ListedRow, Listing, NewSkill, SkillRow};
use crate::billing::SharedClock;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::master_key::MasterKey;
use crate::store::{Db, is_unique_violation};

/// Who a published skill belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// Every platform sees it (the operator's).
    Public,
    Platform(Uuid),
}

impl Owner {
    fn platform_id(self) -> Option<Uuid> {
        match self {
            Self::Public => None,
            Self::Platform(id) => Some(id),
        }
    }
}

/// How a skill came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Operator,
    Platform,
    /// `create_skill` over MCP, by this end user.
    Agent(Uuid),
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::Platform => "platform",
            Self::Agent(_) => "agent",
        }
    }
}

/// What a publish did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Created,
    NewVersion,
    /// The same folder was already there.
    Unchanged,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SkillView {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub version: String,
    /// `public` or `private`.
    pub visibility: &'static str,
    /// The owning platform of a private skill.
    pub platform_id: Option<Uuid>,
    /// Content address of the folder (hex SHA-256 of its canonical encoding).
    pub sha256: String,
    pub file_count: i64,
    pub size_bytes: i64,
    pub files: Vec<FileEntry>,
    /// `operator`, `platform` or `agent`.
    pub source: String,
    pub created_by_end_user_id: Option<Uuid>,
    /// Reviews of the current version.
    pub reviews: Scorecard,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<ListedRow> for SkillView {
    fn from(row: ListedRow) -> Self {
        let s = row.skill;
        Self {
            id: s.id,
            name: s.name,
            description: s.description,
            version: s.version,
            visibility: if s.platform_id.is_some() {
                "private"
            } else {
                "public"
            },
            platform_id: s.platform_id,
            sha256: s.sha256,
            file_count: s.file_count,
            size_bytes: s.size_bytes,
            files: s.files.0,
            source: s.source,
            created_by_end_user_id: s.created_by_end_user_id,
            reviews: row.totals.into(),
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// A folder checked and sealed, ready to publish.
struct Prepared {
    manifest: Manifest,
    files: Vec<FileEntry>,
    size_bytes: i64,
    sealed: Sealed,
}

#[derive(Clone)]
pub struct Skills {
    db: Db,
    blobs: SealedBlobs,
    limits: Limits,
    clock: SharedClock,
    /// Platforms' `skills_enabled`, read on every MCP tools/list: cached for 2 s
    /// (like app activations), forgotten at once when this instance changes it.
    enabled: moka::sync::Cache<Uuid, bool>,
}

impl Skills {
    pub fn new(db: Db, blobs: SealedBlobs, limits: Limits, clock: SharedClock) -> Self {
        Self {
            db,
            blobs,
            limits,
            clock,
            enabled: moka::sync::Cache::builder()
                .time_to_live(std::time::Duration::from_secs(2))
                .max_capacity(100_000)
                .build(),
        }
    }

    /// Whether the platform turned the skills tools on.
    pub async fn enabled_for(&self, platform_id: Uuid) -> Result<bool, sqlx::Error> {
        if let Some(enabled) = self.enabled.get(&platform_id) {
            return Ok(enabled);
        }
        let enabled = crate::store::platforms::get(&self.db, platform_id)
            .await?
            .is_some_and(|p| p.skills_enabled);
        self.enabled.insert(platform_id, enabled);
        Ok(enabled)
    }

    /// Called after a platform's settings changed.
    pub fn forget_platform(&self, platform_id: Uuid) {
        self.enabled.invalidate(&platform_id);
    }

    /// The catalog with blobs in the configured directory, sealed with the master key.
    pub fn from_config(
        db: Db,
        config: &Config,
        master_key: &MasterKey,
        clock: SharedClock,
    ) -> Self {
        let store = Arc::new(FsBlobStore::new(config.blob_dir()));
        let blobs = SealedBlobs::new(store, master_key.vault());
        Self::new(db, blobs, Limits::from_config(config), clock)
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Publishes an uploaded zip (unpacked and sealed off the async runtime).
    pub async fn publish_zip(
        &self,
        zip: axum::body::Bytes,
        owner: Owner,
        source: Source,
    ) -> Result<(SkillView, Change)> {
        let (limits, blobs) = (self.limits, self.blobs.clone());
        let prepared = tokio::task::spawn_blocking(move || {
            let folder = super::intake::unpack(&zip, &limits)?;
            prepare(&blobs, &folder)
        })
        .await
        .map_err(Error::internal)??;
        self.publish(prepared, owner, source).await
    }

    /// Publishes a folder built from an agent's files.
    pub async fn publish_folder(
        &self,
        folder: Folder,
        owner: Owner,
        source: Source,
    ) -> Result<(SkillView, Change)> {
        let blobs = self.blobs.clone();
        let prepared = tokio::task::spawn_blocking(move || prepare(&blobs, &folder))
            .await
            .map_err(Error::internal)??;
        self.publish(prepared, owner, source).await
    }

    async fn publish(
        &self,
        prepared: Prepared,
        owner: Owner,
        source: Source,
    ) -> Result<(SkillView, Change)> {
        let Prepared {
            manifest,
            files,
            size_bytes,
            sealed,
        } = prepared;
        let now = self.clock.now();
        let platform_id = owner.platform_id();
        let new = NewSkill {
            id: Uuid::now_v7(),
            platform_id,
            name: &manifest.name,
            description: &manifest.description,
            version: &manifest.version,
            body: &manifest.body,
            sha256: &sealed.address,
            files,
            size_bytes,
            source: source.as_str(),
            created_by_end_user_id: match source {
                Source::Agent(end_user) => Some(end_user),
                _ => None,
            },
            now,
        };
        let mut tx = self.db.begin().await?;
        let existing = store::by_name_for_update(&mut tx, platform_id, &manifest.name).await?;
        if let (Some(old), Source::Agent(end_user)) = (&existing, source)
            && old.created_by_end_user_id != Some(end_user)
        {
            // Agents version their own skills only, never the platform's.
            return Err(Error::conflict(format!(
                "a skill named '{}' already exists on this platform: choose another name",
                manifest.name
            )));
        }
        if let Some(old) = &existing
            && old.sha256 != sealed.address
            && old.version == manifest.version
        {
            return Err(Error::conflict(format!(
                "skill '{}' version {} already exists with other content: raise `version` \
                 in SKILL.md to publish a new version",
                manifest.name, manifest.version
            )));
        }
        store::claim_blob(&mut tx, &sealed.address, sealed.bytes.len() as i64, now).await?;
        let (row, change, released): (SkillRow, Change, Option<String>) = match existing {
            Some(old) if old.sha256 == sealed.address => (old, Change::Unchanged, None),
            Some(old) => {
                let row = store::replace_content(&mut tx, old.id, &new).await?;
                let released = store::release_blob(&mut tx, &old.sha256)
                    .await?
                    .then_some(old.sha256);
                (row, Change::NewVersion, released)
            }
            None => match store::insert(&mut tx, &new).await {
                Ok(row) => (row, Change::Created, None),
                Err(err) if is_unique_violation(&err) => {
                    return Err(Error::conflict(format!(
                        "skill '{}' is being published concurrently; retry",
                        manifest.name
                    )));
                }
                Err(err) => return Err(err.into()),
            },
        };
        // Last before commit: refused or conflicting publishes never got here. A
        // blob missing from the store (say, restored database) is written again.
        self.blobs
            .put_if_absent(&sealed)
            .await
            .map_err(Error::internal)?;
        if let Some(address) = &released {
            self.blobs.delete(address).await.map_err(Error::internal)?;
        }
        tx.commit().await?;
        let view = self.listed(row.id).await?;
        Ok((view.into(), change))
    }

    async fn listed(&self, id: Uuid) -> Result<ListedRow> {
        store::get(&self.db, id)
            .await?
            .ok_or_else(|| Error::not_found("skill not found"))
    }

    /// A skill this platform may see: public, or its own. Another platform's
    /// private skill is "not found", like one that does not exist.
    pub async fn visible(&self, platform_id: Uuid, id: Uuid) -> Result<ListedRow> {
        let row = self.listed(id).await?;
        match row.skill.platform_id {
            Some(owner) if owner != platform_id => Err(Error::not_found("skill not found")),
            _ => Ok(row),
        }
    }

    /// Any skill (the operator).
    pub async fn get_any(&self, id: Uuid) -> Result<SkillView> {
        self.listed(id).await.map(Into::into)
    }

    /// A visible skill and its files, decrypted and checked against its address.
    pub async fn fetch(&self, platform_id: Uuid, id: Uuid) -> Result<(SkillView, Folder)> {
        let row = self.visible(platform_id, id).await?;
        let folder = self
            .blobs
            .get(&row.skill.sha256)
            .await
            .map_err(Error::internal)?;
        Ok((row.into(), folder))
    }

    /// The folder stored under a content address, decrypted and checked.
    pub async fn open_folder(&self, address: &str) -> Result<Folder> {
        self.blobs.get(address).await.map_err(Error::internal)
    }

    pub async fn list(
        &self,
        listing: Listing,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<SkillView>, i64)> {
        let (rows, total) = store::list(&self.db, listing, limit, offset).await?;
        Ok((rows.into_iter().map(Into::into).collect(), total))
    }

    /// Ranked search over what this platform may see.
    pub async fn find(&self, platform_id: Uuid, query: &str, limit: i64) -> Result<Vec<Hit>> {
        Ok(search::find(&self.db, platform_id, query, limit).await?)
    }

    /// Deletes one of this platform's private skills. A public skill answers 403
    /// (its existence is no secret); another platform's answers 404.
    pub async fn delete_private(&self, platform_id: Uuid, id: Uuid) -> Result<()> {
        let row = self.visible(platform_id, id).await?;
        if row.skill.platform_id.is_none() {
            return Err(Error::forbidden(
                "public skills are managed by the operator; a platform deletes its own",
            ));
        }
        self.delete(id, Some(platform_id)).await
    }

    /// Deletes any skill (the operator).
    pub async fn delete_any(&self, id: Uuid) -> Result<()> {
        self.delete(id, None).await
    }

    async fn delete(&self, id: Uuid, platform_id: Option<Uuid>) -> Result<()> {
        let mut tx = self.db.begin().await?;
        let deleted = match platform_id {
            Some(_) => store::delete(&mut tx, id, platform_id).await?,
            None => store::delete_any(&mut tx, id).await?,
        };
        let Some(address) = deleted else {
            return Err(Error::not_found("skill not found"));
        };
        if store::release_blob(&mut tx, &address).await? {
            self.blobs.delete(&address).await.map_err(Error::internal)?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records an end user's review of a skill they may see (its current version).
    pub async fn review(
        &self,
        platform_id: Uuid,
        end_user_id: Uuid,
        id: Uuid,
        scores: Scores,
        comment: Option<String>,
    ) -> Result<(Review, SkillView)> {
        let scores = scores.validate()?;
        let comment = reviews::validate_comment(comment)?;
        let row = self.visible(platform_id, id).await?;
        let review = super::store::reviews::insert(
            &self.db,
            NewReview {
                skill_id: id,
                skill_version: row.skill.version.clone(),
                platform_id,
                end_user_id,
                scores,
                comment,
                now: self.clock.now(),
            },
        )
        .await?;
        let view = self.listed(id).await?;
        Ok((review, view.into()))
    }

    /// Reviews of a skill: a platform's own end users' (`Some`), or all (`None`).
    pub async fn reviews(
        &self,
        id: Uuid,
        platform_id: Option<Uuid>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Review>, i64)> {
        Ok(super::store::reviews::list(&self.db, id, platform_id, limit, offset).await?)
    }
}

/// Reads the manifest and seals the folder (CPU only).
fn prepare(blobs: &SealedBlobs, folder: &Folder) -> Result<Prepared> {
    let skill_md = folder
        .get(MANIFEST)
        .ok_or_else(|| Error::bad_request("SKILL.md is missing"))?;
    let manifest = manifest::parse(&skill_md.content)?;
    let files = folder
        .files()
        .iter()
        .map(|f| FileEntry {
            path: f.path.clone(),
            size: f.content.len() as i64,
        })
        .collect();
    let size_bytes = i64::try_from(folder.size_bytes()).unwrap_or(i64::MAX);
    let sealed = blobs.seal(folder).map_err(Error::internal)?;
    Ok(Prepared {
        manifest,
        files,
        size_bytes,
        sealed,
    })
}
