//! `create_skill`'s arguments made into a folder: the agent's files (text or
//! base64), with a `SKILL.md` that agrees with the arguments.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use schemars::JsonSchema;
use serde::Deserialize;

use super::folder::{Folder, Limits, MANIFEST, SkillFile, normalise_path};
use super::manifest;
use crate::error::Error;

/// How a file's `content` is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
pub enum Encoding {
    #[default]
    #[serde(rename = "utf-8")]
    Utf8,
    #[serde(rename = "base64")]
    Base64,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileInput {
    #[schemars(length(min = 1, max = 1024))]
    path: String,
    content: String,
    #[serde(default)]
    encoding: Encoding,
}

/// `create_skill`'s arguments.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInput {
    #[schemars(length(min = 1, max = 64), pattern(r"^[a-z0-9]+(-[a-z0-9]+)*$"))]
    name: String,
    #[schemars(length(min = 1, max = 1024))]
    description: String,
    #[schemars(length(min = 1, max = 64), extend("default" = "1.0.0"))]
    version: Option<String>,
    /// SKILL.md body, when no SKILL.md is among the files.
    instructions: Option<String>,
    files: Vec<FileInput>,
}

impl CreateInput {
    /// The agent's files as a folder, with a SKILL.md that says what the
    /// arguments say: written when absent, given front matter when it has none,
    /// else required to agree with `name` and `description`.
    pub fn into_folder(self, limits: &Limits) -> Result<Folder, Error> {
        let name = manifest::validate_name(&self.name)?;
        let description = manifest::validate_description(&self.description)?;
        let version = manifest::validate_version(self.version.as_deref().unwrap_or("1.0.0"))?;
        if self.files.len() > limits.files {
            return Err(Error::bad_request(format!(
                "too many files: {} (at most {})",
                self.files.len(),
                limits.files
            )));
        }
        let mut files = Vec::with_capacity(self.files.len() + 1);
        for file in self.files {
            let path = normalise_path(&file.path)?;
            let content = match file.encoding {
                Encoding::Base64 => STANDARD.decode(file.content.as_bytes()).map_err(|e| {
                    Error::bad_request(format!("'{path}': content is not valid base64: {e}"))
                })?,
                Encoding::Utf8 => file.content.into_bytes(),
            };
            files.push(SkillFile { path, content });
        }
        let front = manifest::render_front_matter(&name, &description, &version);
        match files.iter_mut().find(|f| f.path == MANIFEST) {
            None => {
                let body = self
                    .instructions
                    .unwrap_or_else(|| format!("# {name}\n\n{description}\n"));
                files.push(SkillFile {
                    path: MANIFEST.into(),
                    content: format!("{front}\n{body}").into_bytes(),
                });
            }
            Some(skill_md) => {
                let text = String::from_utf8(skill_md.content.clone())
                    .map_err(|_| Error::bad_request("SKILL.md: the file is not UTF-8 text"))?;
                if manifest::has_front_matter(&text) {
                    let parsed = manifest::parse(text.as_bytes())?;
                    if parsed.name != name || parsed.description != description {
                        return Err(Error::bad_request(
                            "SKILL.md's front matter must name the same name and description \
                             as the arguments",
                        ));
                    }
                } else {
                    skill_md.content = format!("{front}\n{text}").into_bytes();
                }
            }
        }
        Folder::new(files, limits)
    }
}
