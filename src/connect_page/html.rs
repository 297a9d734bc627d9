//! The connect page's HTML: plain server-rendered forms, no script, one small inline
//! stylesheet, readable on a phone. Every dynamic value is escaped.

use std::fmt::Write;

use assistiv_app_sdk::ConnectField;

use crate::oauth::flow::MyAppView;

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;\
margin:0;background:#f6f7f9;color:#1d2330}main{max-width:34rem;margin:0 auto;padding:1.25rem}\
h1{font-size:1.4rem;margin:.5rem 0 1rem}.app{background:#fff;border:1px solid #dde1e6;\
border-radius:.6rem;padding:1rem;margin:0 0 .8rem}.app h2{font-size:1.1rem;margin:0 0 .3rem}\
.state{font-size:.95rem;margin:0 0 .7rem}.state.connected{color:#1a7f37}\
.state.needs_reauth{color:#9a6700}.state.not_connected{color:#57606a}\
button{font-size:1rem;padding:.65rem 1.1rem;border-radius:.45rem;border:1px solid #1f6feb;\
background:#1f6feb;color:#fff;min-height:2.75rem;width:100%}\
button.secondary{background:#fff;color:#cf222e;border-color:#cf222e}\
label{display:block;font-size:.9rem;margin:.2rem 0}input{font-size:1rem;padding:.55rem;\
width:100%;box-sizing:border-box;margin:0 0 .6rem;border:1px solid #b6bec8;border-radius:.4rem}\
.banner{padding:.75rem 1rem;border-radius:.5rem;margin:0 0 1rem}.banner.ok{background:#dafbe1}\
.banner.error{background:#ffebe9}.help{font-size:.8rem;color:#57606a;margin:-.4rem 0 .6rem}\
form{margin:.4rem 0 0}";

/// A whole page around `body`.
fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        escape(title)
    )
}

/// A result banner after a round trip (`status` from the callback or a disconnect).
pub struct Banner {
    pub ok: bool,
    pub text: String,
}

fn state_text(app: &MyAppView) -> (&'static str, String) {
    match app.status.as_str() {
        "connected" => {
            let who = app
                .account_label
                .as_deref()
                .or(app.account_login.as_deref())
                .map(|w| format!(" as {}", escape(w)))
                .unwrap_or_default();
            ("connected", format!("Connected{who}"))
        }
        "needs_reauth" => (
            "needs_reauth",
            "Needs reconnecting: the connection expired or was revoked".to_owned(),
        ),
        _ => ("not_connected", "Not connected".to_owned()),
    }
}

fn fields_html(fields: &[ConnectField], app: &str) -> String {
    let mut out = String::new();
    for field in fields {
        let id = format!("{}-{}", app, field.name);
        let _ = write!(
            out,
            "<label for=\"{id}\">{label}</label><input id=\"{id}\" name=\"{name}\" required \
             autocomplete=\"off\" autocapitalize=\"none\" spellcheck=\"false\">\
             <p class=\"help\">{help}</p>",
            id = escape(&id),
            label = escape(field.label),
            name = escape(field.name),
            help = escape(field.help),
        );
    }
    out
}

/// The list of the platform's apps with this end user's state and the actions.
pub fn apps_page(
    apps: &[MyAppView],
    fields_of: impl Fn(&str) -> &'static [ConnectField],
    csrf: &str,
    banner: Option<&Banner>,
) -> String {
    let mut body = String::from("<h1>Connect your apps</h1>");
    if let Some(banner) = banner {
        let _ = write!(
            body,
            "<p class=\"banner {}\" role=\"status\">{}</p>",
            if banner.ok { "ok" } else { "error" },
            escape(&banner.text)
        );
    }
    if apps.is_empty() {
        body.push_str("<p>No apps are available yet.</p>");
    }
    let csrf = escape(csrf);
    for app in apps {
        let slug = escape(&app.app);
        let (class, text) = state_text(app);
        let _ = write!(
            body,
            "<section class=\"app\" data-app=\"{slug}\" data-status=\"{class}\">\
             <h2>{name}</h2><p class=\"state {class}\">{text}</p>",
            name = escape(&app.display_name),
        );
        if app.status != "connected" {
            let verb = if app.status == "needs_reauth" {
                "Reconnect"
            } else {
                "Connect"
            };
            let _ = write!(
                body,
                "<form method=\"post\" action=\"/connect/apps/{slug}/connect\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">{fields}\
                 <button type=\"submit\">{verb} {name}</button></form>",
                fields = fields_html(fields_of(&app.app), &app.app),
                name = escape(&app.display_name),
            );
        }
        if app.status != "not_connected" {
            let _ = write!(
                body,
                "<form method=\"post\" action=\"/connect/apps/{slug}/disconnect\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                 <button type=\"submit\" class=\"secondary\">Disconnect {name}</button></form>",
                name = escape(&app.display_name),
            );
        }
        body.push_str("</section>");
    }
    page("Connect your apps", &body)
}

/// A page saying why nothing can be shown (expired link, ...).
pub fn message_page(title: &str, text: &str) -> String {
    page(
        title,
        &format!("<h1>{}</h1><p>{}</p>", escape(title), escape(text)),
    )
}

/// The signed start link's form for an app that needs values before connecting, with
/// why the last values were refused, if they were.
pub fn start_form_page(
    app_name: &str,
    fields: &[ConnectField],
    link_token: &str,
    error: Option<&str>,
) -> String {
    let error = error
        .map(|e| format!("<p class=\"banner error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Connect {name}</h1>{error}<form method=\"get\" action=\"/oauth/start\">\
         <input type=\"hidden\" name=\"t\" value=\"{token}\">{fields}\
         <button type=\"submit\">Continue to {name}</button></form>",
        name = escape(app_name),
        token = escape(link_token),
        fields = fields_html(fields, "start"),
    );
    page(&format!("Connect {app_name}"), &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_dynamic_is_escaped() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        let html = message_page("<b>", "<script>alert(1)</script>");
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("name=\"viewport\""));
    }
}
