//! The random administrator password of a first start without `--admin-password`.
//!
//! Eight characters, the spec's maximum for `AdminPassword`, drawn uniformly from the OS
//! random number generator over letters and digits without look-alikes (`0 O 1 l I`), so
//! it can be read off a console and typed: 57^8 ≈ 2^46 possibilities, with the login
//! rate limiter standing between it and a guesser.

/// Characters of a generated password.
pub const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// Length of a generated password.
pub const LENGTH: usize = 8;

/// The OS random number generator failed.
#[derive(Debug, thiserror::Error)]
#[error("the OS random number generator failed: {0}")]
pub struct RandomError(getrandom::Error);

/// A fresh random password of [`LENGTH`] characters from [`ALPHABET`].
pub fn generate() -> Result<String, RandomError> {
    // Rejection sampling keeps the draw uniform: bytes above the largest multiple of the
    // alphabet size are discarded.
    let limit = (256 / ALPHABET.len() * ALPHABET.len()) as u8;
    let mut password = String::with_capacity(LENGTH);
    let mut pool = [0u8; 32];
    while password.len() < LENGTH {
        getrandom::getrandom(&mut pool).map_err(RandomError)?;
        for byte in pool.iter().copied().filter(|b| *b < limit) {
            if password.len() == LENGTH {
                break;
            }
            password.push(char::from(ALPHABET[usize::from(byte) % ALPHABET.len()]));
        }
    }
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_have_eight_characters_from_the_alphabet_and_differ() {
        let a = generate().expect("rng");
        let b = generate().expect("rng");
        assert_eq!(a.chars().count(), LENGTH);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)), "{a}");
        assert_ne!(a, b, "two draws of 2^46 should not collide");
    }
}
