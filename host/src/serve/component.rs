//! Which component `edgewood serve` runs: the one built into this binary, a `.wasm`
//! file, or the built-in one packaged with a model file (as `edgewood component`
//! does: any format the CLI reads, no compiler).

use std::borrow::Cow;

use anyhow::Context as _;

use super::Args;

/// The component bytes the flags ask for, and what to call its model in the banner.
pub(super) fn select(args: &Args) -> anyhow::Result<(Cow<'static, [u8]>, String)> {
    anyhow::ensure!(
        args.model.is_some() || args.import.is_empty(),
        "--feature-names, --class-names, --range and --missing apply only with --model"
    );
    Ok(match (&args.model, &args.component) {
        (Some(model), _) => {
            let packaged =
                crate::cli::component::package_file(model, &args.import, None, Default::default())?;
            (packaged.wasm.into(), packaged.name)
        }
        (None, Some(path)) => (
            std::fs::read(path)
                .with_context(|| format!("cannot read {}", path.display()))?
                .into(),
            "custom".to_string(),
        ),
        (None, None) => (
            crate::component::BUILT_IN.into(),
            edgewood_spin::model_name().to_string(),
        ),
    })
}
