//! The CRC-32 (IEEE, reflected: zlib's) that a chunk's header and records carry. Natively
//! `crc32fast`, which uses the CPU's carry-less multiply. Wasm has none, and there
//! `crc32fast` falls back to sixteen table lookups per sixteen bytes — the largest single
//! item of the page's profile on an ordinary log. There a long input takes [`sparse`],
//! which needs no table: about 2.3× `crc32fast`'s speed in V8 (BENCHMARKS.md, "Session 15").

/// Inputs at least this long take [`sparse`] in wasm32 (it ends with about 50 bytes by the
/// table, so shorter ones gain nothing).
const SPARSE_FROM: usize = 256;

/// `crc` (a CRC-32 as returned, 0 for none yet) carried on over `data`: what
/// `crc32fast::Hasher::new_with_initial(crc)` gives after `update(data)`.
pub fn update(crc: u32, data: &[u8]) -> u32 {
    if cfg!(target_arch = "wasm32") && data.len() >= SPARSE_FROM {
        sparse(crc, data)
    } else {
        table(crc, data)
    }
}

fn table(crc: u32, data: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new_with_initial(crc);
    hasher.update(data);
    hasher.finalize()
}

/// Bytes left at the end for [`table`]: at least the five words still owed something.
const TAIL: usize = 48;

/// [`update`] by a sparse multiple of the polynomial (the idea of Sam Russell's "Chorba",
/// arXiv:2412.16398). x^300 + x^155 + x^117 + x^89 + 1 is a multiple of the CRC-32
/// polynomial (`the_sparse_polynomial_is_a_multiple` checks it), so in the reflected bit
/// order a CRC reads, a 64-bit word of the message may be taken out and XORed in again 145,
/// 183, 211 and 300 bits further on without changing the remainder. Each word in turn is
/// moved on so, until only the last [`TAIL`] bytes or so are left, holding what was moved
/// into them; their CRC, from a zero register, is the whole message's. The initial
/// register (`!crc`) is XORed into the first four bytes, as a table CRC would start. Four
/// words a step: no word is owed anything by the one just before it, so the steps overlap.
fn sparse(crc: u32, data: &[u8]) -> u32 {
    let Some(body_len) = data.len().checked_sub(TAIL) else {
        return table(crc, data);
    };
    let (words, _) = data.get(..body_len).unwrap_or_default().as_chunks::<8>();
    let quads = words.chunks_exact(4);
    let single = quads.remainder();
    // What the next five words are owed.
    let mut owed = [u64::from(!crc), 0, 0, 0, 0];
    for quad in quads {
        let &[w1, w2, w3, w4] = quad else {
            continue; // `chunks_exact(4)`: always four
        };
        let w1 = u64::from_le_bytes(w1) ^ owed[0];
        let w2 = u64::from_le_bytes(w2) ^ owed[1];
        let a = moved(w1);
        let b = moved(w2);
        let w3 = u64::from_le_bytes(w3) ^ owed[2] ^ a[0];
        let w4 = u64::from_le_bytes(w4) ^ owed[3] ^ a[1] ^ b[0];
        let c = moved(w3);
        let d = moved(w4);
        owed = [
            owed[4] ^ a[2] ^ b[1] ^ c[0],
            a[3] ^ b[2] ^ c[1] ^ d[0],
            b[3] ^ c[2] ^ d[1],
            c[3] ^ d[2],
            d[3],
        ];
    }
    for &word in single {
        let w = u64::from_le_bytes(word) ^ owed[0];
        let m = moved(w);
        owed = [
            owed[1],
            owed[2] ^ m[0],
            owed[3] ^ m[1],
            owed[4] ^ m[2],
            m[3],
        ];
    }
    let done = words.len() * 8;
    let tail = data.get(done..).unwrap_or_default();
    // The owed words XORed into the first 40 bytes of the tail (at least 48 long).
    let mut head = [0u8; 40];
    for ((out, byte), owed) in head
        .iter_mut()
        .zip(tail)
        .zip(owed.iter().flat_map(|w| w.to_le_bytes()))
    {
        *out = byte ^ owed;
    }
    // A zero register is a CRC of `!0`.
    let crc = table(!0, &head);
    table(crc, tail.get(head.len()..).unwrap_or_default())
}

/// A word moved 145, 183, 211 and 300 bits on: what it adds to the 2nd, 3rd, 4th and 5th
/// words after its own (bit n of a little-endian word is the n-th bit the CRC reads).
#[inline(always)]
fn moved(w: u64) -> [u64; 4] {
    [
        (w << 17) ^ (w << 55),
        (w >> 47) ^ (w >> 9) ^ (w << 19),
        (w >> 45) ^ (w << 44),
        w >> 20,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// x^300 + x^155 + x^117 + x^89 + 1 modulo the CRC-32 polynomial (normal bit order,
    /// x^32 + x^26 + … + 1), by long division in GF(2).
    #[test]
    fn the_sparse_polynomial_is_a_multiple() {
        let poly: u128 = 0x1_04C1_1DB7;
        let mut bits = [0u128; 3]; // 384 bits, little end first
        for exp in [300, 155, 117, 89, 0] {
            bits[exp / 128] ^= 1 << (exp % 128);
        }
        for exp in (32..384).rev() {
            if bits[exp / 128] >> (exp % 128) & 1 == 1 {
                let shift = exp - 32;
                // poly << shift, spread over the 128-bit limbs
                let (limb, within) = (shift / 128, shift % 128);
                bits[limb] ^= poly << within;
                if within > 128 - 33 && limb + 1 < 3 {
                    bits[limb + 1] ^= poly >> (128 - within);
                }
            }
        }
        assert_eq!(bits, [0, 0, 0]);
    }

    proptest! {
        #[test]
        fn sparse_is_the_crc(crc: u32, data in proptest::collection::vec(any::<u8>(), 0..4000)) {
            prop_assert_eq!(sparse(crc, &data), table(crc, &data));
            prop_assert_eq!(update(crc, &data), table(crc, &data));
        }

        #[test]
        fn carried_on_over_two_parts_is_over_the_whole(
            data in proptest::collection::vec(any::<u8>(), 0..2000),
            cut in any::<prop::sample::Index>(),
        ) {
            let (a, b) = data.split_at(cut.index(data.len() + 1));
            prop_assert_eq!(sparse(sparse(0, a), b), table(0, &data));
        }
    }
}
