//! JSON Schemas of the files offersim reads and writes, generated from the very types that read
//! or write them (`schemars`), so a schema cannot drift from its file. `offersim schema NAME`
//! prints one; `schemas/` holds them committed (tests/schemas.rs keeps the two equal), and a
//! shipped scenario names its schema in a Taplo directive (`#:schema ../schemas/scenario.schema.json`)
//! so editors complete and check it. Draft-07: what Taplo (Even Better TOML) and VS Code read.
//!
//! Each schema carries its file's shape tag: `title` is the tag (`offersim.report/2`), `$id`
//! is `urn:offersim:report:2`, and the file's own `schema` field must equal the tag. A change of
//! shape is a visible diff of the committed schema, and a new version of the tag its new title.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};
use serde_json::{json, Value};

/// The files with a schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Which {
    /// A scenario file (TOML, read as JSON: a TOML date is its text).
    Scenario,
    /// `report.json` of `offersim run`.
    Report,
    /// `drive.json` of `offersim drive`.
    Drive,
    /// `sweep.json` of `offersim sweep`.
    Sweep,
}

impl Which {
    pub const ALL: [Which; 4] = [Which::Scenario, Which::Report, Which::Drive, Which::Sweep];

    /// The committed file's name under `schemas/`.
    pub fn file_name(self) -> &'static str {
        match self {
            Which::Scenario => "scenario.schema.json",
            Which::Report => "report.schema.json",
            Which::Drive => "drive.schema.json",
            Which::Sweep => "sweep.schema.json",
        }
    }

    /// The shape tag of the file the schema describes.
    pub fn tag(self) -> &'static str {
        match self {
            Which::Scenario => offersim_sim::world::config::SCENARIO_SCHEMA,
            Which::Report => offersim_reports::SCHEMA,
            Which::Drive => offersim_live::drive::report::SCHEMA,
            Which::Sweep => crate::sweep::SWEEP_SCHEMA,
        }
    }
}

/// The schema as pretty JSON with a final newline (the committed file's bytes).
pub fn text(which: Which) -> String {
    let schema = match which {
        Which::Scenario => generate::<crate::scenario::FileConfig>(SchemaSettings::draft07()),
        Which::Report => generate::<offersim_reports::Report>(SchemaSettings::draft07().for_serialize()),
        Which::Drive => {
            generate::<offersim_live::drive::report::DriveReport>(SchemaSettings::draft07().for_serialize())
        }
        Which::Sweep => generate::<crate::sweep::SweepJson>(SchemaSettings::draft07().for_serialize()),
    };
    let mut v = schema.to_value();
    tag(&mut v, which);
    let mut text = serde_json::to_string_pretty(&v).unwrap_or_default();
    text.push('\n');
    text
}

fn generate<T: JsonSchema>(settings: SchemaSettings) -> Schema {
    settings.into_generator().into_root_schema_for::<T>()
}

/// `$id` and `title` from the tag; the file's `schema` field (outputs) must be the tag.
fn tag(v: &mut Value, which: Which) {
    let t = which.tag();
    let Some(root) = v.as_object_mut() else { return };
    root.insert("$id".into(), json!(format!("urn:{}", t.replace(['.', '/'], ":"))));
    root.insert("title".into(), json!(t));
    if let Some(p) = root.get_mut("properties").and_then(|p| p.get_mut("schema")) {
        *p = json!({ "description": "The file's shape and its version.", "const": t });
    }
}
