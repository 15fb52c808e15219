//! Byte comparisons for the paths run once per event: in wasm32, `==` on slices and strings
//! calls `compiler_builtins`' `memcmp`, one byte at a time (a Web Worker reading a log of
//! failed logons spent 17–20 ms of about 390 there); [`same`] compares eight bytes at a time.

/// Whether `a` and `b` hold the same bytes (what `a == b` says): natively `==` (the C
/// library's `memcmp` is vectorised), in wasm32 [`same_words`].
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    if cfg!(target_arch = "wasm32") {
        same_words(a, b)
    } else {
        a == b
    }
}

/// [`same`] eight bytes at a time.
fn same_words(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut x = a.chunks_exact(8);
    let mut y = b.chunks_exact(8);
    for (p, q) in (&mut x).zip(&mut y) {
        if word(p) != word(q) {
            return false;
        }
    }
    x.remainder().iter().zip(y.remainder()).all(|(p, q)| p == q)
}

/// [`same`] of two strings' bytes.
pub(crate) fn same_str(a: &str, b: &str) -> bool {
    same(a.as_bytes(), b.as_bytes())
}

fn word(bytes: &[u8]) -> u64 {
    u64::from_ne_bytes(<[u8; 8]>::try_from(bytes).unwrap_or([0; 8]))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// What `==` says, for slices of any length that differ anywhere or nowhere.
        #[test]
        fn same_words_is_equality(
            a in prop::collection::vec(any::<u8>(), 0..40),
            flip in prop::option::of((0usize..40, 1u8..=255)),
            longer in prop::option::of(any::<u8>()),
        ) {
            let mut b = a.clone();
            if let Some((at, by)) = flip && let Some(byte) = b.get_mut(at) {
                *byte ^= by;
            }
            if let Some(extra) = longer {
                b.push(extra);
            }
            prop_assert_eq!(same_words(&a, &b), a == b);
            prop_assert!(same_words(&a, &a));
        }
    }
}
