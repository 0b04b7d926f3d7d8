//! Input validation against a model's feature schema.
//!
//! Callers that take input from people (HTTP bodies, JavaScript objects, CSV files)
//! validate here before predicting, so that every front end refuses the same inputs
//! with the same error naming the same feature.

use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;

use crate::error::InputError;
use crate::model::Model;

impl<'a> Model<'a> {
    /// Checks one positional row: its length, then each value against the schema
    /// (missing only where allowed, never infinite, inside the valid range).
    pub fn validate_row(&self, row: &[f64]) -> Result<(), InputError> {
        if row.len() != self.n_features() {
            return Err(InputError::RowLength {
                expected: self.n_features(),
                found: row.len(),
            });
        }
        for (i, &value) in row.iter().enumerate() {
            self.validate_value(i, value)?;
        }
        Ok(())
    }

    /// Checks the value of feature `i`.
    pub fn validate_value(&self, i: usize, value: f64) -> Result<(), InputError> {
        let name = || self.feature_name(i).to_string();
        if value.is_nan() {
            if self.allows_missing(i) {
                return Ok(());
            }
            return Err(InputError::NotFinite {
                name: name(),
                value,
            });
        }
        if value.is_infinite() {
            return Err(InputError::NotFinite {
                name: name(),
                value,
            });
        }
        if let Some((min, max)) = self.valid_range(i) {
            if !(value >= min && value <= max) {
                return Err(InputError::OutOfRange {
                    name: name(),
                    value,
                    min,
                    max,
                });
            }
        }
        Ok(())
    }

    /// Builds a validated row from `(feature name, value)` pairs in any order.
    /// Every feature must be given exactly once; unknown names are refused.
    pub fn row_from_named<'k>(
        &self,
        pairs: impl IntoIterator<Item = (&'k str, f64)>,
    ) -> Result<Vec<f64>, InputError> {
        let mut row = vec![f64::NAN; self.n_features()];
        let mut given = vec![false; self.n_features()];
        for (name, value) in pairs {
            let i = self
                .feature_index(name)
                .ok_or_else(|| InputError::UnknownFeature {
                    name: name.to_string(),
                })?;
            if core::mem::replace(&mut given[i], true) {
                return Err(InputError::DuplicateFeature {
                    name: name.to_string(),
                });
            }
            self.validate_value(i, value)?;
            row[i] = value;
        }
        if let Some(i) = given.iter().position(|g| !g) {
            return Err(InputError::MissingFeature {
                name: self.feature_name(i).to_string(),
            });
        }
        Ok(row)
    }
}
