//! [`VectorIsa`]: which vector instructions this CPU runs, found once at run time.
//!
//! Why here and by hand: `core` is `no_std`, and `std::is_x86_feature_detected!` is
//! not. The checks are the ones that macro makes: the CPU has the instructions (CPUID
//! leaf 1 for AVX, leaf 7 for AVX2 and AVX-512F, CD, VL and BW) and the operating
//! system saves their registers on a context switch (OSXSAVE, then XCR0's SSE and
//! AVX state bits, and for AVX-512 the opmask and upper-ZMM ones). Off x86-64 there
//! is nothing to find: every build there takes the portable code.

#![allow(unsafe_code)] // CPUID and XGETBV, each after the check that makes it valid.

use core::sync::atomic::{AtomicU8, Ordering};

/// The vector instructions a walk may use, from the portable code up. A walk picks
/// the best one it has up to [`VectorIsa::detected`]; tests force each lower one to
/// check that every path gives the same bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VectorIsa {
    /// Portable Rust, vectorised as the compiler sees fit for the build's target.
    Baseline,
    /// x86-64 AVX2: 8 float32 lanes, gathers, and 8-lane permutes.
    Avx2,
    /// x86-64 AVX-512F, CD, VL and BW (every AVX-512 CPU but the Xeon Phi has all
    /// four): 16 float32 lanes, mask registers, a leading-zero count per lane, 32
    /// registers for 256-bit operations too, and 16-bit permutes.
    Avx512,
}

/// 0: not yet detected; otherwise 1 + the detected variant's index.
static DETECTED: AtomicU8 = AtomicU8::new(0);

impl VectorIsa {
    /// Every variant, from the portable code up.
    pub const ALL: [VectorIsa; 3] = [VectorIsa::Baseline, VectorIsa::Avx2, VectorIsa::Avx512];

    /// The best this CPU and operating system run (checked once, then cached).
    pub fn detected() -> VectorIsa {
        match DETECTED.load(Ordering::Relaxed) {
            0 => {
                let isa = detect();
                DETECTED.store(1 + isa as u8, Ordering::Relaxed);
                isa
            }
            2 => VectorIsa::Avx2,
            3 => VectorIsa::Avx512,
            _ => VectorIsa::Baseline,
        }
    }
}

#[cfg(target_arch = "x86_64")]
// CPUID became a safe function after the workspace's minimum Rust (1.89).
#[allow(unused_unsafe)]
fn detect() -> VectorIsa {
    use core::arch::x86_64::{__cpuid, __cpuid_count, _xgetbv};
    // SAFETY: CPUID exists on every x86-64 CPU; leaf 7 is read only if leaf 0 says
    // it exists.
    let (max_leaf, leaf1) = unsafe { (__cpuid(0).eax, __cpuid(1)) };
    let osxsave = leaf1.ecx & (1 << 27) != 0;
    let avx = leaf1.ecx & (1 << 28) != 0;
    if max_leaf < 7 || !osxsave || !avx {
        return VectorIsa::Baseline;
    }
    // SAFETY: XGETBV is enabled when OSXSAVE is set, checked above.
    let xcr0 = unsafe { _xgetbv(0) };
    // XMM, YMM; then opmask, ZMM0-15 upper halves, ZMM16-31.
    const AVX_STATE: u64 = 0b0000_0110;
    const AVX512_STATE: u64 = 0b1110_0110;
    // SAFETY: leaf 7 exists (max_leaf >= 7).
    let leaf7 = unsafe { __cpuid_count(7, 0) }.ebx;
    let avx2 = leaf7 & (1 << 5) != 0;
    // F (16), CD (28), BW (30), VL (31).
    const AVX512: u32 = (1 << 16) | (1 << 28) | (1 << 30) | (1 << 31);
    if leaf7 & AVX512 == AVX512 && avx2 && xcr0 & AVX512_STATE == AVX512_STATE {
        VectorIsa::Avx512
    } else if avx2 && xcr0 & AVX_STATE == AVX_STATE {
        VectorIsa::Avx2
    } else {
        VectorIsa::Baseline
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> VectorIsa {
    VectorIsa::Baseline
}
