//! f64 as text, exactly as Rust's `{}` and `{:?}` print it, without core's float
//! formatting.
//!
//! Why: core's formatting (flt2dec: Grisu with a Dragon fallback, big-number arithmetic,
//! exact-precision modes) is about 20 KB of wasm, and one `{}` of an f64 anywhere in a
//! program links all of it. The digits here come from `ryu` instead: the shortest ones
//! that read back to the same f64, the nearest of those to the exact value, which is
//! what core prints too. Only the layout is ours, and it copies core's: `{:?}` is
//! `0.97`, `1.0`, `1e-7`, `1.5e16`; `{}` is `0.97`, `1`, `0.0000001`, `15000000000000000`.
//! The messages and JSON written with these are byte-identical to `format!`'s
//! (`tests/all/float_text.rs` checks random bit patterns against it).

use core::fmt::{self, Write};

/// Formats like `{:?}` of the f64: the shortest round-trip form, with a `.` or an
/// exponent (`1.0`, `0.97`, `1e-7`, `NaN`, `-inf`).
#[derive(Clone, Copy)]
pub struct DebugF64(pub f64);

/// Formats like `{}` of the f64: the shortest round-trip digits, never an exponent
/// (`1`, `0.97`, `0.0000001`, `NaN`, `-inf`).
#[derive(Clone, Copy)]
pub struct DisplayF64(pub f64);

impl fmt::Display for DebugF64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write(f, self.0, true)
    }
}

impl fmt::Display for DisplayF64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write(f, self.0, false)
    }
}

/// Appends `x` as `{:?}` prints it (`debug`) or as `{}` does.
pub fn write(out: &mut dyn Write, x: f64, debug: bool) -> fmt::Result {
    if x.is_nan() {
        return out.write_str("NaN");
    }
    if x.is_sign_negative() {
        out.write_char('-')?;
    }
    if x.is_infinite() {
        return out.write_str("inf");
    }
    if x == 0.0 {
        return out.write_str(if debug { "0.0" } else { "0" });
    }
    let d = Digits::of(x);
    let abs = x.abs();
    // core's `{:?}` switches to an exponent outside [1e-4, 1e16).
    if debug && !(1e-4..1e16).contains(&abs) {
        let (first, rest) = d.digits().split_at(1);
        out.write_str(ascii(first))?;
        if !rest.is_empty() {
            out.write_char('.')?;
            out.write_str(ascii(rest))?;
        }
        return write!(out, "e{}", d.k - 1);
    }
    let digits = d.digits();
    let n = digits.len() as i32;
    if d.k <= 0 {
        // 0.000ddd
        out.write_str("0.")?;
        zeros(out, -d.k)?;
        out.write_str(ascii(digits))
    } else if d.k < n {
        // dd.ddd
        let (int, frac) = digits.split_at(d.k as usize);
        out.write_str(ascii(int))?;
        out.write_char('.')?;
        out.write_str(ascii(frac))
    } else {
        // ddd000, and `.0` for `{:?}`
        out.write_str(ascii(digits))?;
        zeros(out, d.k - n)?;
        if debug {
            out.write_str(".0")?;
        }
        Ok(())
    }
}

fn zeros(out: &mut dyn Write, n: i32) -> fmt::Result {
    for _ in 0..n {
        out.write_char('0')?;
    }
    Ok(())
}

fn ascii(digits: &[u8]) -> &str {
    // Only ASCII digits are ever stored.
    core::str::from_utf8(digits).unwrap_or("")
}

/// The shortest round-trip digits of a finite, non-zero |x|: `buf[..len]`, ASCII, with
/// no leading or trailing zero, and `k` such that |x| = 0.d₁d₂…dₙ × 10^k.
struct Digits {
    buf: [u8; 24],
    len: usize,
    k: i32,
}

impl Digits {
    fn of(x: f64) -> Digits {
        let mut ryu = ryu::Buffer::new();
        // ryu's own layout (`1e16`, `0.001`, `1.5e-7`, `123.0`) is read back into digits
        // and an exponent rather than relied on: only its digits matter here.
        let text = ryu.format_finite(x.abs()).as_bytes();
        let mut d = Digits {
            buf: [0; 24],
            len: 0,
            k: 0,
        };
        let (mut seen, mut leading, mut point, mut exp) = (0i32, 0i32, None, 0i32);
        let mut i = 0;
        while i < text.len() {
            match text[i] {
                b'.' => point = Some(seen),
                b'e' => {
                    let (negative, from) = match text.get(i + 1) {
                        Some(b'-') => (true, i + 2),
                        _ => (false, i + 1),
                    };
                    for &c in &text[from..] {
                        exp = exp * 10 + i32::from(c - b'0');
                    }
                    if negative {
                        exp = -exp;
                    }
                    break;
                }
                c => {
                    seen += 1;
                    if d.len == 0 && c == b'0' {
                        leading += 1;
                    } else if d.len < d.buf.len() {
                        d.buf[d.len] = c;
                        d.len += 1;
                    }
                }
            }
            i += 1;
        }
        while d.len > 1 && d.buf[d.len - 1] == b'0' {
            d.len -= 1;
        }
        d.k = point.unwrap_or(seen) - leading + exp;
        // When |x| lies exactly halfway between two shortest candidates, ryu takes the
        // even one and core the upper one (`1202509528200039.25` is `…39.2` to ryu,
        // `…39.3` to core). Only an even last digit can differ, and the upper candidate
        // then has no carry.
        let last = d.buf[d.len - 1];
        if last.is_multiple_of(2) {
            let n = d
                .digits()
                .iter()
                .fold(0u64, |n, &c| n * 10 + u64::from(c - b'0'));
            if is_exactly(x.abs(), n * 10 + 5, d.k - d.len as i32 - 1) {
                d.buf[d.len - 1] = last + 1;
            }
        }
        d
    }

    fn digits(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Whether the finite, positive `x` equals `n` × 10^`p` exactly (`n` < 10^18).
fn is_exactly(x: f64, n: u64, p: i32) -> bool {
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1 << 52) - 1);
    let (m, e) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | 1 << 52, biased - 1075)
    };
    // x = m × 2^e. An f64's odd part is below 2^53, so n × 10^p can only equal it when
    // 5^|p| is small: |p| ≤ 27 keeps every product below 2^128.
    if p.unsigned_abs() > 27 {
        return false;
    }
    let five = 5u128.pow(p.unsigned_abs());
    if p >= 0 {
        // m × 2^e = (n × 5^p) × 2^p
        same(u128::from(m), e, u128::from(n) * five, p)
    } else {
        // m × 2^e = n × 2^p × 5^p  ⇔  (m × 5^-p) × 2^(e-p) = n
        same(u128::from(m) * five, e - p, u128::from(n), 0)
    }
}

/// Whether a × 2^ea = b × 2^eb, for non-zero a and b.
fn same(a: u128, ea: i32, b: u128, eb: i32) -> bool {
    let (za, zb) = (a.trailing_zeros(), b.trailing_zeros());
    a >> za == b >> zb && ea + za as i32 == eb + zb as i32
}
