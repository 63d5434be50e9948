//! `GET /v1/csat/{token}?score=N`: the survey link a customer follows. No API token: the
//! link's own signature is the proof. What it does is [`crate::service::csat::rate_by_link`];
//! this file renders the answer as a small page in the customer's language (or as JSON for a
//! client that asks for it), with the status of the answer's [`Code`].

use std::sync::{Arc, LazyLock};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;

use super::error::status;
use super::AppState;
use crate::service::csat::{self, LinkAnswer, Rated};
use crate::service::{Code, Error};

pub(super) async fn get_rating(
    State(state): State<Arc<AppState>>,
    Path(token): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    // The first `score`; other parameters (a mail system's tracking) are left alone. A query
    // that does not decode has no score the service could read.
    let score = match &query {
        Ok(Query(pairs)) => pairs
            .iter()
            .find(|(k, _)| k == "score")
            .map(|(_, v)| v.as_str()),
        Err(_) => Some(""),
    };
    let answer = csat::rate_by_link(&state.desk, &token, score).await;
    if wants_json(&headers) {
        return match answer.result {
            Ok(rated) => Json(rated).into_response(),
            Err(e) => e.into_response(),
        };
    }
    let lang = Lang::pick(
        answer
            .language
            .as_deref()
            .into_iter()
            .chain(accept_language(&headers)),
    );
    let (code, page) = page(lang, &answer);
    let status = code.map_or(StatusCode::OK, status);
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            ),
        ],
        Html(page),
    )
        .into_response()
}

/// Whether the client asks for JSON rather than a page.
fn wants_json(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    accept.contains("application/json") && !accept.contains("text/html")
}

/// The languages of `Accept-Language`, in the order given (weights are not sorted on: browsers
/// list them best first).
fn accept_language(headers: &HeaderMap) -> Vec<&str> {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(',')
                .map(|part| part.split(';').next().unwrap_or("").trim())
                .filter(|tag| !tag.is_empty() && *tag != "*")
                .collect()
        })
        .unwrap_or_default()
}

/// The languages the page speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    En,
    Nb,
    Da,
    Ar,
    Zh,
}

impl Lang {
    /// The first of `tags` the page speaks (Norwegian of any kind is Bokmål), else English.
    fn pick<'a>(tags: impl IntoIterator<Item = &'a str>) -> Lang {
        for tag in tags {
            let base = tag
                .split(['-', '_'])
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            match base.as_str() {
                "en" => return Lang::En,
                "nb" | "nn" | "no" => return Lang::Nb,
                "da" => return Lang::Da,
                "ar" => return Lang::Ar,
                "zh" => return Lang::Zh,
                _ => {}
            }
        }
        Lang::En
    }

    fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Nb => "nb",
            Lang::Da => "da",
            Lang::Ar => "ar",
            Lang::Zh => "zh",
        }
    }

    fn dir(self) -> &'static str {
        if self == Lang::Ar {
            "rtl"
        } else {
            "ltr"
        }
    }
}

/// What a page says: its heading and its sentence.
struct Words {
    heading: &'static str,
    text: &'static str,
}

/// The page's words for an outcome: `thanks` (with `{name}` and `{score}`), `repeated`, or
/// the code of the refusal.
fn words(lang: Lang, what: &str) -> Words {
    let (heading, text) = match (lang, what) {
        (Lang::En, "thanks") => ("Thank you{name}!", "You rated our help {score} out of 5."),
        (Lang::En, "repeated") => (
            "Thank you{name}!",
            "We already have your rating: {score} out of 5.",
        ),
        (Lang::En, "survey_already_rated") => (
            "Already rated",
            "This survey has already been answered. The first rating stands.",
        ),
        (Lang::En, "survey_link_expired") => {
            ("This link has expired", "The survey is no longer open.")
        }
        (Lang::En, "survey_closed") => (
            "This survey is closed",
            "A newer survey has replaced it. Please use the link in our latest message.",
        ),
        (Lang::En, "survey_link_invalid") => (
            "This link does not work",
            "It is not a link from our messages, or it was cut short. Please use the whole link.",
        ),
        (Lang::En, "invalid_query") => ("Choose a score", "The link needs a score from 1 to 5."),
        (Lang::En, "not_found") => (
            "Case not found",
            "We cannot find the case this survey is about.",
        ),
        (Lang::En, "survey_links_off") => (
            "Rating by link is off",
            "Please answer our message instead.",
        ),
        (Lang::En, _) => (
            "Something went wrong",
            "Your rating was not saved. Please try again later.",
        ),

        (Lang::Nb, "thanks") => ("Takk{name}!", "Du ga hjelpen vår {score} av 5."),
        (Lang::Nb, "repeated") => (
            "Takk{name}!",
            "Vi har allerede vurderingen din: {score} av 5.",
        ),
        (Lang::Nb, "survey_already_rated") => (
            "Allerede besvart",
            "Denne undersøkelsen er allerede besvart. Den første vurderingen gjelder.",
        ),
        (Lang::Nb, "survey_link_expired") => {
            ("Lenken er utløpt", "Undersøkelsen er ikke lenger åpen.")
        }
        (Lang::Nb, "survey_closed") => (
            "Undersøkelsen er lukket",
            "En nyere undersøkelse har erstattet den. Bruk lenken i den siste meldingen vår.",
        ),
        (Lang::Nb, "survey_link_invalid") => (
            "Lenken virker ikke",
            "Den er ikke fra meldingene våre, eller den er kuttet av. Bruk hele lenken.",
        ),
        (Lang::Nb, "invalid_query") => {
            ("Velg en karakter", "Lenken må ha en karakter fra 1 til 5.")
        }
        (Lang::Nb, "not_found") => (
            "Fant ikke saken",
            "Vi finner ikke saken denne undersøkelsen gjelder.",
        ),
        (Lang::Nb, "survey_links_off") => (
            "Vurdering med lenke er slått av",
            "Svar gjerne på meldingen vår i stedet.",
        ),
        (Lang::Nb, _) => (
            "Noe gikk galt",
            "Vurderingen ble ikke lagret. Prøv igjen senere.",
        ),

        (Lang::Da, "thanks") => ("Tak{name}!", "Du gav vores hjælp {score} ud af 5."),
        (Lang::Da, "repeated") => (
            "Tak{name}!",
            "Vi har allerede din vurdering: {score} ud af 5.",
        ),
        (Lang::Da, "survey_already_rated") => (
            "Allerede besvaret",
            "Denne undersøgelse er allerede besvaret. Den første vurdering gælder.",
        ),
        (Lang::Da, "survey_link_expired") => {
            ("Linket er udløbet", "Undersøgelsen er ikke længere åben.")
        }
        (Lang::Da, "survey_closed") => (
            "Undersøgelsen er lukket",
            "En nyere undersøgelse har erstattet den. Brug linket i vores seneste besked.",
        ),
        (Lang::Da, "survey_link_invalid") => (
            "Linket virker ikke",
            "Det er ikke fra vores beskeder, eller det er afkortet. Brug hele linket.",
        ),
        (Lang::Da, "invalid_query") => (
            "Vælg en karakter",
            "Linket skal have en karakter fra 1 til 5.",
        ),
        (Lang::Da, "not_found") => (
            "Sagen blev ikke fundet",
            "Vi kan ikke finde den sag, undersøgelsen handler om.",
        ),
        (Lang::Da, "survey_links_off") => (
            "Vurdering via link er slået fra",
            "Svar gerne på vores besked i stedet.",
        ),
        (Lang::Da, _) => (
            "Noget gik galt",
            "Din vurdering blev ikke gemt. Prøv igen senere.",
        ),

        (Lang::Ar, "thanks") => ("شكرًا لك{name}!", "قيّمت مساعدتنا بـ {score} من 5."),
        (Lang::Ar, "repeated") => ("شكرًا لك{name}!", "لدينا تقييمك بالفعل: {score} من 5."),
        (Lang::Ar, "survey_already_rated") => (
            "تم التقييم مسبقًا",
            "تمت الإجابة على هذا الاستبيان من قبل، ويبقى التقييم الأول.",
        ),
        (Lang::Ar, "survey_link_expired") => ("انتهت صلاحية هذا الرابط", "لم يعد الاستبيان متاحًا."),
        (Lang::Ar, "survey_closed") => (
            "هذا الاستبيان مغلق",
            "حلّ محله استبيان أحدث. يُرجى استخدام الرابط في رسالتنا الأخيرة.",
        ),
        (Lang::Ar, "survey_link_invalid") => (
            "هذا الرابط لا يعمل",
            "ليس رابطًا من رسائلنا، أو أنه ناقص. يُرجى استخدام الرابط كاملًا.",
        ),
        (Lang::Ar, "invalid_query") => ("اختر تقييمًا", "يحتاج الرابط إلى تقييم من 1 إلى 5."),
        (Lang::Ar, "not_found") => (
            "لم يتم العثور على الطلب",
            "لا نجد الطلب الذي يخصه هذا الاستبيان.",
        ),
        (Lang::Ar, "survey_links_off") => (
            "التقييم عبر الرابط غير متاح",
            "يُرجى الرد على رسالتنا بدلًا من ذلك.",
        ),
        (Lang::Ar, _) => ("حدث خطأ ما", "لم يُحفظ تقييمك. يُرجى المحاولة لاحقًا."),

        (Lang::Zh, "thanks") => (
            "谢谢{name}！",
            "您给我们的服务打了 {score} 分（满分 5 分）。",
        ),
        (Lang::Zh, "repeated") => (
            "谢谢{name}！",
            "我们已收到您的评分：{score} 分（满分 5 分）。",
        ),
        (Lang::Zh, "survey_already_rated") => {
            ("已经评过分了", "此调查已有回复，以第一次评分为准。")
        }
        (Lang::Zh, "survey_link_expired") => ("链接已过期", "此调查已不再开放。"),
        (Lang::Zh, "survey_closed") => (
            "此调查已关闭",
            "已有更新的调查取代了它，请使用我们最新消息中的链接。",
        ),
        (Lang::Zh, "survey_link_invalid") => (
            "链接无效",
            "这不是我们消息中的链接，或者链接不完整。请使用完整的链接。",
        ),
        (Lang::Zh, "invalid_query") => ("请选择分数", "链接需要 1 到 5 之间的分数。"),
        (Lang::Zh, "not_found") => ("找不到工单", "我们找不到此调查对应的工单。"),
        (Lang::Zh, "survey_links_off") => ("链接评分未开启", "请直接回复我们的消息。"),
        (Lang::Zh, _) => ("出错了", "您的评分未能保存，请稍后再试。"),
    };
    Words { heading, text }
}

const PAGE: &str = r#"<!doctype html>
<html lang="{{ lang }}" dir="{{ dir }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{ heading }}</title>
<style>
  body { font: 17px/1.5 system-ui, sans-serif; color: #1d2733; background: #f4f6f8; margin: 0; }
  main { max-width: 32rem; margin: 12vh auto; padding: 2rem; background: #fff; border-radius: 12px;
         box-shadow: 0 2px 12px rgba(0,0,0,.08); text-align: center; }
  h1 { font-size: 1.5rem; margin: 0 0 .5rem; }
  .stars { font-size: 2rem; color: #f5b942; letter-spacing: .15em; margin: .5rem 0 0; }
  .detail { font-size: .8rem; color: #6b7785; margin-top: 1.5rem; }
</style>
</head>
<body>
<main data-code="{{ code }}">
<h1>{{ heading }}</h1>
<p>{{ text }}</p>
{%- if stars %}
<p class="stars" aria-hidden="true">{{ stars }}</p>
{%- endif %}
{%- if detail %}
<p class="detail"><code>{{ code }}</code> {{ detail }}</p>
{%- endif %}
</main>
</body>
</html>
"#;

static PAGES: LazyLock<minijinja::Environment<'static>> = LazyLock::new(|| {
    let mut env = minijinja::Environment::new();
    // Every value is HTML-escaped: names and messages come from outside.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.add_template("csat.html", PAGE)
        .expect("the page template compiles");
    env
});

/// The page for an answer, and the code of a refusal (`None`: thanks).
fn page(lang: Lang, answer: &LinkAnswer) -> (Option<Code>, String) {
    let name = answer
        .first_name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .map_or(String::new(), |n| match lang {
            Lang::Zh => n.to_string(),
            Lang::Ar => format!(" يا {n}"),
            _ => format!(", {n}"),
        });
    let (code, what, score, detail): (Option<Code>, &str, Option<u8>, Option<String>) =
        match &answer.result {
            Ok(Rated {
                score, repeated, ..
            }) => (
                None,
                if *repeated { "repeated" } else { "thanks" },
                Some(*score),
                None,
            ),
            Err(Error { code, message, .. }) => {
                (Some(*code), code.name(), None, Some(message.clone()))
            }
        };
    let w = words(lang, what);
    let fill = |s: &str| {
        s.replace("{name}", &name)
            .replace("{score}", &score.map_or(String::new(), |n| n.to_string()))
    };
    let stars = score.map(|n| {
        let n = usize::from(n);
        format!("{}{}", "★".repeat(n), "☆".repeat(5 - n))
    });
    let ctx = minijinja::context! {
        lang => lang.tag(),
        dir => lang.dir(),
        code => code.map_or("rated", Code::name),
        heading => fill(w.heading),
        text => fill(w.text),
        stars => stars,
        detail => detail,
    };
    let html = PAGES
        .get_template("csat.html")
        .and_then(|t| t.render(ctx))
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "the rating page did not render");
            "<!doctype html><title>frontdesk</title><p>Thank you.</p>".to_string()
        });
    (code, html)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(result: Result<Rated, Error>, name: Option<&str>) -> LinkAnswer {
        LinkAnswer {
            language: None,
            first_name: name.map(str::to_string),
            result,
        }
    }

    fn rated(score: u8) -> Rated {
        Rated {
            ticket_id: "T1".into(),
            survey: "e/survey".into(),
            score,
            repeated: false,
        }
    }

    #[test]
    fn languages_are_picked_from_the_customer_then_the_browser() {
        assert_eq!(Lang::pick(["nb-NO"]), Lang::Nb);
        assert_eq!(Lang::pick(["nn"]), Lang::Nb);
        assert_eq!(Lang::pick(["sv", "da"]), Lang::Da);
        assert_eq!(Lang::pick(["zh-Hans-CN"]), Lang::Zh);
        assert_eq!(Lang::pick(["fr"]), Lang::En);
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_LANGUAGE,
            "ar-EG,ar;q=0.9,en;q=0.8".parse().unwrap(),
        );
        assert_eq!(Lang::pick(accept_language(&h)), Lang::Ar);
    }

    #[test]
    fn pages_speak_the_language_and_escape_what_came_from_outside() {
        let (code, html) = page(Lang::Ar, &answer(Ok(rated(4)), Some("<b>Ali</b>")));
        assert_eq!(code, None);
        assert!(html.contains(r#"<html lang="ar" dir="rtl">"#), "{html}");
        assert!(html.contains("&lt;b&gt;Ali&lt;&#x2f;b&gt;"), "{html}");
        assert!(!html.contains("<b>Ali"), "{html}");
        assert!(html.contains("★★★★☆"), "{html}");
        for (lang, word) in [
            (Lang::En, "Thank you"),
            (Lang::Nb, "Takk"),
            (Lang::Da, "Tak"),
            (Lang::Zh, "谢谢"),
        ] {
            let (_, html) = page(lang, &answer(Ok(rated(5)), None));
            assert!(html.contains(word), "{lang:?}: {html}");
            assert!(html.contains(r#"dir="ltr""#));
        }
        let refused = Error::new(Code::SurveyLinkInvalid, "bad <script>").field("token");
        let (code, html) = page(Lang::Nb, &answer(Err(refused), None));
        assert_eq!(code, Some(Code::SurveyLinkInvalid));
        assert!(html.contains("Lenken virker ikke"), "{html}");
        assert!(html.contains("bad &lt;script&gt;"), "{html}");
        assert!(
            html.contains(r#"data-code="survey_link_invalid""#),
            "{html}"
        );
    }
}
