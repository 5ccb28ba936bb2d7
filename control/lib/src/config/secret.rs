//! The API token: kept in a zeroize-on-drop [`SecretString`] and printed
//! only as `<redacted>`.

use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

use secrecy::{ExposeSecret, SecretString};

/// A bearer token for the host cluster's API server. `Debug` and `Display`
/// print `<redacted>`; only [`Token::expose`] gives the text.
#[derive(Clone)]
pub struct Token(SecretString);

impl Token {
    /// Wraps `text` (surrounding whitespace, such as a trailing newline left
    /// by `base64 -d`, is dropped).
    pub fn new(text: &str) -> Self {
        Token(SecretString::from(text.trim()))
    }

    /// The token text, for building the client's credentials only.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The token as kube's secret type.
    pub fn to_secret_string(&self) -> SecretString {
        self.0.clone()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl FromStr for Token {
    type Err = Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Token::new(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_printed() {
        let t = Token::new("eyJhbGciOi.secret.part\n");
        assert_eq!(
            format!("{t} {t:?} {:?}", Some(&t)),
            "<redacted> <redacted> Some(<redacted>)"
        );
        assert_eq!(t.expose(), "eyJhbGciOi.secret.part");
    }
}
