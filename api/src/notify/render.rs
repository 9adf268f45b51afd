//! One template set for every message (SPEC S15): the plain-text part, the HTML part (every
//! name escaped) and header values that cannot carry a line break.

use super::Body;

/// Escapes text for HTML element content and attribute values.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A value for a header (a subject, a display name), or a paragraph: control characters —
/// CR and LF above all, which in a header would end it and begin another — become spaces,
/// runs of spaces one. Names come from the PSA as they are; none of them is meant to break
/// a line.
pub fn header_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = if c.is_control() { ' ' } else { c };
        if !(c == ' ' && out.ends_with(' ')) {
            out.push(c);
        }
    }
    out.trim().to_owned()
}

/// The link's full address: the operator's public address and the console path.
pub fn link(base: &str, path: &str) -> String {
    format!("{}{}", base.trim_end_matches('/'), path)
}

const FOOTER: &str = "You receive this because of your Hubkeep account. Each kind of email can \
                      be turned off in your email preferences.";

/// The plain-text part.
pub fn text(body: &Body, base: &str) -> String {
    let mut out = String::new();
    for p in &body.paragraphs {
        out.push_str(&header_text(p));
        out.push_str("\n\n");
    }
    if let Some(action) = &body.action {
        out.push_str(&format!(
            "{}: {}\n\n",
            action.label,
            link(base, &action.path)
        ));
    }
    out.push_str("-- \n");
    out.push_str(FOOTER);
    out.push('\n');
    out
}

/// The HTML part: the same content, escaped.
pub fn html(subject: &str, body: &Body, base: &str) -> String {
    let mut out = String::from("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str(&format!(
        "<title>{}</title></head>\n<body style=\"font-family: sans-serif; line-height: 1.5\">\n",
        html_escape(subject)
    ));
    for p in &body.paragraphs {
        out.push_str(&format!("<p>{}</p>\n", html_escape(&header_text(p))));
    }
    if let Some(action) = &body.action {
        let href = link(base, &action.path);
        out.push_str(&format!(
            "<p><a href=\"{}\">{}</a></p>\n",
            html_escape(&href),
            html_escape(&action.label)
        ));
    }
    out.push_str(&format!(
        "<hr><p style=\"color: #555; font-size: small\">{}</p>\n</body></html>\n",
        html_escape(FOOTER)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::Link;

    #[test]
    fn s15_names_are_escaped_in_html_and_cannot_break_a_header() {
        let body = Body {
            paragraphs: vec!["<script>alert(1)</script> & \"Co\"".into()],
            action: Some(Link {
                label: "Open".into(),
                path: "/invitations".into(),
            }),
        };
        let html = html("Hi <b>", &body, "https://hub.example.com/");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Co&quot;"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("<a href=\"https://hub.example.com/invitations\">Open</a>"));
        assert!(html.contains("<title>Hi &lt;b&gt;</title>"));
        let text = text(&body, "https://hub.example.com");
        assert!(text.contains("Open: https://hub.example.com/invitations"));
        assert_eq!(
            header_text("Evil\r\nBcc: victim@example.com\tname"),
            "Evil Bcc: victim@example.com name"
        );
    }
}
