//! The Spin variables interface (`fermyon:spin/variables@2.0.0`), served from the
//! variables given to `edgewood serve` (`--var NAME=VALUE`, `EDGEWOOD_VAR_NAME`).
//!
//! Spin's own hosts resolve variables from the manifest and providers; here they come
//! from the command line, and an unset variable is `undefined`, which the component
//! treats as "use the default".

use wasmtime::component::{ComponentType, Linker, Lower};

use super::runtime::Host;

/// `variant error` of the WIT interface.
#[derive(ComponentType, Lower)]
#[component(variant)]
enum VarError {
    #[component(name = "invalid-name")]
    InvalidName(String),
    #[component(name = "undefined")]
    Undefined(String),
    #[allow(dead_code)] // Part of the interface: no provider fails here.
    #[component(name = "provider")]
    Provider(String),
    #[allow(dead_code)]
    #[component(name = "other")]
    Other(String),
}

/// Defines `get` for the component.
pub(super) fn add_to_linker(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    let mut instance = linker.instance("fermyon:spin/variables@2.0.0")?;
    instance.func_wrap("get", |store, (name,): (String,)| {
        let host: &Host = store.data();
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        let result: Result<String, VarError> = if !valid {
            Err(VarError::InvalidName(name))
        } else {
            match host.vars.get(&name) {
                Some(v) => Ok(v.clone()),
                None => Err(VarError::Undefined(format!("no variable named '{name}'"))),
            }
        };
        Ok((result,))
    })?;
    Ok(())
}
