//! Exact, order-independent money sums (SPEC "Money": every money sum is rounded once, at the end).
//!
//! A float sum depends on the order of its terms: the same lines read in another order, split over
//! other threads or merged from other partitions could round to a different cent. Every money sum
//! is therefore taken in fixed point: each value becomes the integer `trunc(x * 2^70)` (exact for
//! every bit of a money amount down to 2^-70 ≈ 8.5e-22), integers add associatively, and the total
//! turns back into the nearest f64 once. The same lines give the same bits whichever engine, thread
//! count, partitioning or input order summed them.
//!
//! Range: an i128 at 2^-70 holds up to 2^57 ≈ 1.4e17; the run refuses dumps whose absolute amounts
//! add up to 2^53 minor units or more (see `require_representable_money`), far below that.

/// One unit is 2^-70.
const SCALE: f64 = (1u128 << 70) as f64;

/// A money sum in fixed point.
pub type Exact = i128;

/// `x` in fixed point, truncated toward zero below 2^-70 (what `(x * 2^70) as i128` gives, without
/// the slow library call for the conversion): the mantissa shifted into place. NaN and infinities
/// read as 0 and values beyond 2^56 saturate; the cleaning and money-range rules reject such dumps.
#[inline(always)]
pub fn exact(x: f64) -> Exact {
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    if exp == 0 || exp == 0x7ff {
        // Zero and subnormals (far below 2^-70), NaN and infinities.
        return 0;
    }
    let mantissa = ((bits & ((1u64 << 52) - 1)) | (1u64 << 52)) as i128;
    // x = mantissa * 2^(exp - 1075), so x * 2^70 = mantissa * 2^(exp - 1005).
    let shift = exp - 1005;
    let magnitude = if shift >= 0 {
        if shift > 73 {
            1i128 << 126
        } else {
            mantissa << shift
        }
    } else if shift > -64 {
        mantissa >> -shift
    } else {
        0
    };
    if bits >> 63 == 1 {
        -magnitude
    } else {
        magnitude
    }
}

/// The nearest f64 to a fixed-point sum.
#[inline(always)]
pub fn to_f64(v: Exact) -> f64 {
    v as f64 / SCALE
}

/// Add in fixed point, wrapping instead of panicking on overflow (only a dump the money-range check
/// rejects can get there).
#[inline(always)]
pub fn add(acc: &mut Exact, x: f64) {
    *acc = acc.wrapping_add(exact(x));
}

/// The sum of `values`, exactly (then rounded once to f64).
pub fn sum(values: impl Iterator<Item = f64>) -> f64 {
    to_f64(values.fold(0i128, |acc, x| acc.wrapping_add(exact(x))))
}

/// A fixed-point value as two i64 halves (high, low bits), for spill files.
pub fn split(v: Exact) -> (i64, i64) {
    ((v >> 64) as i64, v as u64 as i64)
}

/// The value [`split`] gave.
pub fn join(hi: i64, lo: i64) -> Exact {
    ((hi as i128) << 64) | (lo as u64 as i128)
}
