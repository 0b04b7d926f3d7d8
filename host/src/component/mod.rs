//! Packaging a model into the prebuilt HTTP component, with no compiler.
//!
//! The component this binary carries was built with a model in it, reached through
//! one record in its data, the [`ModelSlot`](edgewood_spin::ModelSlot). Packaging
//! appends the new model (and its name) as a data segment past the end of the core
//! module's initial memory, raises the memory's minimum to cover it, and points the
//! slot at it. The model then lies in the component's memory image like the built-in
//! one did: mapped copy-on-write at instantiation, never copied per request. The C
//! allocator inside the component takes new memory by `memory.grow`, above the model,
//! and its initial heap ends at a link-time address below it.
//!
//! Packaging is a pure function of its inputs (the same model gives the same bytes),
//! and the result is validated as a whole component before anyone writes it.

mod binary;
pub mod manifests;

use anyhow::{bail, ensure, Context, Result};
use edgewood_core::{layout, Model};
use edgewood_spin::SLOT_MAGIC;

use binary::{
    Section, COMPONENT_IMPORT_SECTION, CORE_MODULE_SECTION, DATA_COUNT_SECTION, DATA_SECTION,
    MEMORY_SECTION,
};

/// The component built for the embedded model (by host/build.rs).
pub static BUILT_IN: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/edgewood_spin.wasm"));

/// The WASI-HTTP host a component is packaged for.
///
/// The component imports standard `wasi:*` interfaces only, and every host serves them
/// alike but one: configuration. `wasi:config/store` is still a pre-release, and the
/// hosts serve different pre-releases of it with the same interface (the same two
/// functions and error variant): Spin 3.x `0.2.0-draft-2024-09-27` (its component
/// variables), wasmtime 48 `0.2.0-rc.1` (`wasmtime serve -S config-var=...`). A
/// component links to one, so packaging names the one its host serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Host {
    /// Spin 3.x, SpinKube, Fermyon Wasm Functions, and `edgewood serve`.
    #[default]
    Spin,
    /// `wasmtime serve` (48) and hosts built on wasmtime-wasi-config (`edgewood serve` too).
    Wasmtime,
}

impl Host {
    /// The `wasi:config/store` import this host serves.
    pub fn wasi_config(self) -> &'static str {
        match self {
            Host::Spin => WASI_CONFIG_SPIN,
            Host::Wasmtime => WASI_CONFIG_WASMTIME,
        }
    }
}

/// The configuration interface the component is built with (spin-sdk's), which Spin
/// 3.x serves.
pub const WASI_CONFIG_SPIN: &str = "wasi:config/store@0.2.0-draft-2024-09-27";
/// The configuration interface `wasmtime serve` 48 serves.
pub const WASI_CONFIG_WASMTIME: &str = "wasi:config/store@0.2.0-rc.1";

/// Returns `component` serving the `.ewm` model `ewm` under `name` (its V2 path
/// segment), importing the configuration interface `host` serves. The model is
/// validated in full first.
pub fn package(component: &[u8], ewm: &[u8], name: &str, host: Host) -> Result<Vec<u8>> {
    Model::open_validated(ewm).context("the model does not validate")?;
    ensure!(
        is_path_segment(name),
        "model name '{name}': use letters, digits, '.', '_' and '-' (it is a URL path segment)"
    );
    ensure!(
        component.starts_with(&binary::COMPONENT_PREAMBLE),
        "not a WebAssembly component"
    );
    let sections = binary::sections(component)?;
    let mut with_slot = None;
    for (i, s) in sections.iter().enumerate() {
        if s.id == CORE_MODULE_SECTION && find(&component[s.start..s.end], &SLOT_MAGIC).is_some() {
            ensure!(
                with_slot.replace(i).is_none(),
                "two core modules hold a model slot"
            );
        }
    }
    let Some(index) = with_slot else {
        bail!("the component has no model slot: it is not an Edgewood component");
    };

    let mut out = binary::COMPONENT_PREAMBLE.to_vec();
    for (i, s) in sections.iter().enumerate() {
        if i == index {
            let module = repack_module(&component[s.start..s.end], ewm, name)?;
            binary::write_section(&mut out, CORE_MODULE_SECTION, &module)?;
        } else if s.id == COMPONENT_IMPORT_SECTION && host != Host::Spin {
            match binary::rename_import(component, s, WASI_CONFIG_SPIN, host.wasi_config())? {
                Some(imports) => binary::write_section(&mut out, s.id, &imports)?,
                None => out.extend_from_slice(&component[s.header..s.end]),
            }
        } else {
            out.extend_from_slice(&component[s.header..s.end]);
        }
    }
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(&out)
        .context("the packaged component does not validate")?;
    Ok(out)
}

/// A valid model name: a non-empty URL path segment of `[A-Za-z0-9._-]`.
pub fn is_path_segment(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// A model name from a file name: its stem, other characters replaced by `_`.
pub fn name_from_path(path: &std::path::Path) -> String {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("model");
    let name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if is_path_segment(&name) {
        name
    } else {
        "model".to_string()
    }
}

/// The core module with the model appended and its slot pointed at it.
fn repack_module(module: &[u8], ewm: &[u8], name: &str) -> Result<Vec<u8>> {
    ensure!(
        module.starts_with(&binary::MODULE_PREAMBLE),
        "the component's core module has an unknown version"
    );
    let sections = binary::sections(module)?;
    let one = |id: u8, what: &str| -> Result<&Section> {
        let mut found = sections.iter().filter(|s| s.id == id);
        let s = found
            .next()
            .with_context(|| format!("the module has no {what} section"))?;
        ensure!(found.next().is_none(), "the module has two {what} sections");
        Ok(s)
    };
    let memory_section = one(MEMORY_SECTION, "memory")?;
    let data_section = one(DATA_SECTION, "data")?;
    let mut memory = binary::memory(module, memory_section)?;
    let data = binary::data(module, data_section)?;

    // The slot: the one place in the active data where the magic occurs.
    let mut slots = data.segments.iter().filter_map(|seg| {
        let at = find(&module[seg.start..seg.end], &SLOT_MAGIC)?;
        Some((seg, seg.start + at))
    });
    let (segment, magic_at) = slots
        .next()
        .context("no data segment holds the model slot")?;
    ensure!(
        slots.next().is_none(),
        "two data segments hold a model slot"
    );
    ensure!(
        segment.address.is_some(),
        "the model slot is in a segment without a fixed address"
    );
    let fields_at = magic_at + SLOT_MAGIC.len();
    ensure!(
        fields_at + 16 <= segment.end,
        "the model slot runs past its data segment"
    );
    let field = |i: usize| {
        let at = fields_at + 4 * i;
        u32::from_le_bytes(module[at..at + 4].try_into().expect("4 bytes"))
    };
    // The layout check: the slices the slot holds now must be this build's model and
    // name. A component from a build whose slot differs is refused, never corrupted.
    let (old_model, old_name) = (
        bytes_at(module, &data, field(0), field(1)),
        bytes_at(module, &data, field(2), field(3)),
    );
    ensure!(
        old_model.is_some_and(|m| m.starts_with(&layout::MAGIC))
            && old_name.is_some_and(|n| std::str::from_utf8(n).is_ok_and(is_path_segment)),
        "the component's model slot does not have the layout this edgewood writes"
    );

    // The new model at the first page past the initial memory, then its name.
    let base = u64::from(memory.min_pages) * binary::PAGE;
    let total = ewm.len() as u64 + name.len() as u64;
    let pages = total.div_ceil(binary::PAGE);
    let new_min = u64::from(memory.min_pages) + pages;
    let limit = memory.max_pages.map_or(65_536, u64::from).min(65_536);
    ensure!(
        new_min <= limit,
        "the model ({} bytes) does not fit the component's 32-bit memory",
        ewm.len()
    );
    memory.min_pages = new_min as u32;
    let model_ptr = base as u32;
    let name_ptr = (base + ewm.len() as u64) as u32;
    let mut appended = Vec::with_capacity(total as usize);
    appended.extend_from_slice(ewm);
    appended.extend_from_slice(name.as_bytes());

    // The slot, pointed at the new model and name.
    let mut patched = module.to_vec();
    for (i, v) in [model_ptr, ewm.len() as u32, name_ptr, name.len() as u32]
        .into_iter()
        .enumerate()
    {
        patched[fields_at + 4 * i..fields_at + 4 * i + 4].copy_from_slice(&v.to_le_bytes());
    }
    // The segments, less the built-in model's bytes: the segment holding them is split
    // around them (memory starts zeroed, and nothing points there any more), so a
    // packaged component carries one model, not two.
    let (old_address, old_len) = (field(0), field(1) as usize);
    let mut segments = Vec::with_capacity(data_section.end - data_section.start + ewm.len());
    let mut count = 0u32;
    for seg in &data.segments {
        let holds_old = seg.address.and_then(|start| {
            let offset = old_address.checked_sub(start)? as usize;
            (offset + old_len <= seg.end - seg.start).then_some((start, offset))
        });
        match holds_old {
            Some((start, offset)) => {
                let before = &patched[seg.start..seg.start + offset];
                let after = &patched[seg.start + offset + old_len..seg.end];
                if !before.is_empty() {
                    binary::active_segment(&mut segments, start, before)?;
                    count += 1;
                }
                if !after.is_empty() {
                    let at = start + (offset + old_len) as u32;
                    binary::active_segment(&mut segments, at, after)?;
                    count += 1;
                }
            }
            None => {
                segments.extend_from_slice(&patched[seg.header..seg.end]);
                count += 1;
            }
        }
    }
    binary::active_segment(&mut segments, model_ptr, &appended)?;
    count += 1;
    let mut data_contents = Vec::with_capacity(segments.len() + 5);
    binary::write_u32(&mut data_contents, count);
    data_contents.extend_from_slice(&segments);

    let mut out = binary::MODULE_PREAMBLE.to_vec();
    for s in &sections {
        match s.id {
            MEMORY_SECTION => {
                binary::write_section(&mut out, s.id, &binary::memory_section(&memory))?
            }
            DATA_SECTION => binary::write_section(&mut out, s.id, &data_contents)?,
            DATA_COUNT_SECTION => {
                let mut encoded = Vec::new();
                binary::write_u32(&mut encoded, count);
                binary::write_section(&mut out, s.id, &encoded)?;
            }
            _ => out.extend_from_slice(&module[s.header..s.end]),
        }
    }
    Ok(out)
}

/// The bytes at `[address, address + len)` of the initial memory, when one active
/// segment holds them all.
fn bytes_at<'m>(module: &'m [u8], data: &binary::Data, address: u32, len: u32) -> Option<&'m [u8]> {
    data.segments.iter().find_map(|seg| {
        let start = seg.address?;
        let offset = address.checked_sub(start)? as usize;
        let end = offset.checked_add(len as usize)?;
        (end <= seg.end - seg.start).then(|| &module[seg.start + offset..seg.start + end])
    })
}

/// The first position of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
