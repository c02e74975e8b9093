//! An error and its causes on one line, as `anyhow` prints them with `{:#}`.
//!
//! Every crate of the workspace reports errors this way in messages that are not
//! themselves errors (a per-user reason, a per-operation failure, a preflight probe):
//! written once here so that they all read alike.

use std::error::Error;

/// `error` followed by each of its [`Error::source`]s, joined by `: `.
///
/// ```
/// #[derive(Debug, thiserror::Error)]
/// #[error("could not read the users")]
/// struct Users(#[source] std::io::Error);
/// let error = Users(std::io::Error::other("connection reset"));
/// assert_eq!(
///     http_policy::chain::render(&error),
///     "could not read the users: connection reset"
/// );
/// ```
pub fn render(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The innermost cause of `error` (`error` itself when it has none): what to show
/// when the outer messages say nothing (reqwest's own is only "builder error").
pub fn innermost<'a>(error: &'a (dyn Error + 'static)) -> &'a (dyn Error + 'static) {
    let mut last = error;
    while let Some(source) = last.source() {
        last = source;
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Layer(&'static str, #[source] Option<Box<Layer>>);

    fn layers(names: &[&'static str]) -> Layer {
        names
            .iter()
            .rev()
            .fold(None, |inner, name| Some(Layer(name, inner.map(Box::new))))
            .expect("at least one layer")
    }

    #[test]
    fn each_cause_appears_once_in_order() {
        let error = layers(&["outer", "middle", "inner"]);
        assert_eq!(render(&error), "outer: middle: inner");
        assert_eq!(innermost(&error).to_string(), "inner");
        let single = layers(&["alone"]);
        assert_eq!(render(&single), "alone");
        assert_eq!(innermost(&single).to_string(), "alone");
    }
}
