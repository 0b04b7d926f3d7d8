//! The standard configuration interface, `wasi:config/store`, served from the variables
//! given to `edgewood serve` (`--var NAME=VALUE`, `EDGEWOOD_VAR_NAME`).
//!
//! Both pre-releases that hosts serve today are linked (the component names one: see
//! [`crate::component::Host`]); their interfaces are the same. Spin's own hosts resolve
//! these values from the manifest's variables and their providers; here they come from
//! the command line, and an unset one is `none`, which the component treats as "use the
//! default".

use wasmtime::component::{ComponentType, Linker, Lower};

use super::runtime::Host;
use crate::component::{WASI_CONFIG_SPIN, WASI_CONFIG_WASMTIME};

/// `variant error` of the WIT interface. This store has no upstream and does no I/O, so
/// it never fails; the type is part of the functions' signatures.
#[derive(ComponentType, Lower)]
#[component(variant)]
#[allow(dead_code)]
enum ConfigError {
    #[component(name = "upstream")]
    Upstream(String),
    #[component(name = "io")]
    Io(String),
}

/// Defines `get` and `get-all` of both versions of the interface.
pub(super) fn add_to_linker(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    for interface in [WASI_CONFIG_SPIN, WASI_CONFIG_WASMTIME] {
        let mut instance = linker.instance(interface)?;
        instance.func_wrap("get", |store, (key,): (String,)| {
            let host: &Host = store.data();
            let value: Result<Option<String>, ConfigError> = Ok(host.vars.get(&key).cloned());
            Ok((value,))
        })?;
        instance.func_wrap("get-all", |store, (): ()| {
            let host: &Host = store.data();
            let mut all: Vec<(String, String)> = host
                .vars
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            all.sort();
            let all: Result<Vec<(String, String)>, ConfigError> = Ok(all);
            Ok((all,))
        })?;
    }
    Ok(())
}
