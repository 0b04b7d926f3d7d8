//! Readers of foreign model formats, producing [`edgewood_core::Ensemble`]s.
