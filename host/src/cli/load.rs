//! Finding the model a subcommand works on: the embedded Iris model, an `.ewm` file,
//! or any source format `edgewood-import` reads (converted in memory on the fly).
//!
//! Every model is fully validated once here, so that no later prediction can meet
//! corrupt bytes.

use std::borrow::Cow;
use std::path::Path;

use anyhow::{anyhow, bail, Context};
use edgewood_core::{layout, Model};
use edgewood_import::{Converted, FeatureRange, ImportOptions};

/// Schema overrides for a model imported from a source format.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct ImportArgs {
    /// Feature names, in column order, replacing the source's (`a,b,c`).
    #[arg(long, value_name = "A,B,…", value_delimiter = ',')]
    pub feature_names: Option<Vec<String>>,
    /// Class labels, in the order of the model's classes (`x,y`).
    #[arg(long, value_name = "X,Y,…", value_delimiter = ',')]
    pub class_names: Option<Vec<String>>,
    /// Valid input range of a feature, `NAME=MIN:MAX`; `*=MIN:MAX` sets every feature.
    /// Repeatable; later ones win. Rows outside the range are refused.
    #[arg(long = "range", value_name = "NAME=MIN:MAX", value_parser = parse_range)]
    pub ranges: Vec<RangeArg>,
    /// Whether every feature accepts a missing value (an empty cell, NaN), replacing
    /// what the source model says.
    #[arg(long, value_name = "allow|refuse")]
    pub missing: Option<Missing>,
    /// The most MiB a compressed model (joblib zlib, gzip, bz2, xz, lzma, lz4) may
    /// decompress to, its pickle's arrays included; past it the file is refused as a
    /// decompression bomb. Raise it only for a genuinely huge model. Default: 256.
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u64).range(1..=1 << 20))]
    pub max_model_mib: Option<u64>,
}

/// `--missing allow|refuse`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    /// Missing values are accepted and follow each split's missing branch.
    Allow,
    /// Missing values are refused by validation.
    Refuse,
}

impl ImportArgs {
    /// Whether no override is given.
    pub fn is_empty(&self) -> bool {
        self.feature_names.is_none()
            && self.class_names.is_none()
            && self.ranges.is_empty()
            && self.missing.is_none()
    }
}

/// One `--range NAME=MIN:MAX`.
#[derive(Clone, Debug, PartialEq)]
pub struct RangeArg {
    /// The feature name, or `*` for all.
    pub name: String,
    /// Smallest valid value.
    pub min: f64,
    /// Largest valid value.
    pub max: f64,
}

fn parse_range(s: &str) -> Result<RangeArg, String> {
    let bad = || format!("'{s}' is not NAME=MIN:MAX (e.g. petal_width=0:10)");
    let (name, range) = s.rsplit_once('=').ok_or_else(bad)?;
    let (min, max) = range.split_once(':').ok_or_else(bad)?;
    let number = |v: &str| v.trim().parse::<f64>().map_err(|_| bad());
    let (min, max) = (number(min)?, number(max)?);
    if name.is_empty() {
        return Err(bad());
    }
    if min.is_nan() || max.is_nan() || min > max {
        return Err(format!("range '{s}': MIN must be a number not above MAX"));
    }
    Ok(RangeArg {
        name: name.to_string(),
        min,
        max,
    })
}

/// A model's validated `.ewm` bytes and where they came from.
pub struct Loaded {
    /// The `.ewm` bytes (borrowed for the embedded model).
    pub bytes: Cow<'static, [u8]>,
    /// What to call the model in messages: its path, or `embedded Iris`.
    pub name: String,
    /// The source format when the model was converted on the fly.
    pub converted_from: Option<String>,
}

impl Loaded {
    /// Opens the bytes as a model (already validated by [`load`]).
    pub fn model(&self) -> anyhow::Result<Model<'_>> {
        Ok(Model::open(&self.bytes)?)
    }
}

/// Loads `path` (or the embedded Iris model for `None`), converting a source format
/// with the schema overrides, and validates every node.
pub fn load(path: Option<&Path>, overrides: &ImportArgs) -> anyhow::Result<Loaded> {
    let Some(path) = path else {
        if !overrides.is_empty() {
            bail!(
                "--feature-names, --class-names and --range apply only when importing a model file"
            );
        }
        return finish(
            Cow::Borrowed(edgewood_core::iris::EWM),
            "embedded Iris".into(),
            None,
        );
    };
    let name = path.display().to_string();
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {name}"))?;
    if bytes.starts_with(&layout::MAGIC) {
        if !overrides.is_empty() {
            bail!("{name} is already an .ewm model: --feature-names, --class-names, --range and --missing apply only when importing");
        }
        return finish(Cow::Owned(bytes), name, None);
    }
    let converted = convert(bytes, &name, &import_options(overrides)?)?;
    Ok(Loaded {
        bytes: Cow::Owned(converted.ewm),
        name,
        converted_from: Some(converted.format.to_string()),
    })
}

fn finish(
    bytes: Cow<'static, [u8]>,
    name: String,
    converted_from: Option<String>,
) -> anyhow::Result<Loaded> {
    Model::open_validated(&bytes).with_context(|| name.clone())?;
    Ok(Loaded {
        bytes,
        name,
        converted_from,
    })
}

/// Converts a source-format model (not `.ewm`) to validated `.ewm` bytes; errors name
/// the file. The source bytes are dropped once the model is read, before it is encoded.
pub fn convert(bytes: Vec<u8>, name: &str, options: &ImportOptions) -> anyhow::Result<Converted> {
    edgewood_import::convert_owned(bytes, options).map_err(|e| anyhow!("{name}: {e}"))
}

/// The command-line overrides as the importer's options; names are checked for
/// emptiness and repetition here, their counts and existence by the importer.
pub fn import_options(o: &ImportArgs) -> anyhow::Result<ImportOptions> {
    let mut options = ImportOptions::default();
    if let Some(names) = &o.feature_names {
        check_unique(names, "--feature-names")?;
        options.feature_names = Some(names.iter().map(|n| n.trim().to_string()).collect());
    }
    if let Some(names) = &o.class_names {
        check_unique(names, "--class-names")?;
        options.class_names = Some(names.iter().map(|n| n.trim().to_string()).collect());
    }
    options.valid_ranges = o
        .ranges
        .iter()
        .map(|r| FeatureRange {
            feature: (r.name != "*").then(|| r.name.clone()),
            min: r.min,
            max: r.max,
        })
        .collect();
    options.allow_missing = o.missing.map(|m| m == Missing::Allow);
    if let Some(mib) = o.max_model_mib {
        options.max_decompressed = usize::try_from(mib << 20).unwrap_or(usize::MAX);
    }
    Ok(options)
}

fn check_unique(names: &[String], option: &str) -> anyhow::Result<()> {
    for (i, n) in names.iter().enumerate() {
        if n.trim().is_empty() {
            bail!("{option}: name {} is empty", i + 1);
        }
        if names[..i].iter().any(|m| m.trim() == n.trim()) {
            bail!("{option}: '{}' is given twice", n.trim());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse() {
        let r = parse_range("petal_width=0:10").unwrap();
        assert_eq!((r.name.as_str(), r.min, r.max), ("petal_width", 0.0, 10.0));
        let r = parse_range("*=-1.5:2e3").unwrap();
        assert_eq!((r.name.as_str(), r.min, r.max), ("*", -1.5, 2000.0));
        assert!(parse_range("a=3:1").is_err());
        assert!(parse_range("a=x:1").is_err());
        assert!(parse_range("=0:1").is_err());
        assert!(parse_range("a0:1").is_err());
    }
}
