//! JUnit XML reports read into [`TestResults`]: `<testsuites>`/`<testsuite>` with
//! `<testcase>` children holding `<failure>`, `<error>` or `<skipped>`. Pure.

use ferry_proto::ferry::build::v1::test_case::Status;
use ferry_proto::ferry::build::v1::test_results::Source;
use ferry_proto::ferry::build::v1::{TestCase, TestResults};
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

/// Most test cases kept in a build record.
const MAX_CASES: usize = 1000;
/// Longest failure detail kept.
const MAX_DETAILS: usize = 4096;

fn attribute(element: &BytesStart<'_>, name: &str) -> String {
    element
        .attributes()
        .flatten()
        .find(|a| AsRef::<str>::as_ref(&a.key) == name)
        .and_then(|a| {
            a.normalized_value(XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.into_owned())
        })
        .unwrap_or_default()
}

fn duration(seconds: &str) -> Option<prost_types::Duration> {
    let value: f64 = seconds.trim().parse().ok()?;
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    Some(prost_types::Duration {
        seconds: value.trunc() as i64,
        nanos: (value.fract() * 1e9) as i32,
    })
}

/// Reads one report into `cases`; an error when it is not well-formed XML.
pub fn parse_report(xml: &[u8], cases: &mut Vec<TestCase>) -> Result<(), String> {
    let mut reader = Reader::from_reader(xml);
    let mut buffer = Vec::new();
    let mut suite = String::new();
    let mut current: Option<TestCase> = None;
    let mut in_detail = false;
    loop {
        let event = reader.read_event_into(&mut buffer).map_err(|e| {
            format!(
                "invalid JUnit XML at byte {}: {e}",
                reader.buffer_position()
            )
        })?;
        match event {
            Event::Start(element) | Event::Empty(element) if tag(&element) == "testsuite" => {
                suite = attribute(&element, "name");
            }
            Event::Start(element) if tag(&element) == "testcase" => {
                current = Some(new_case(&element, &suite));
            }
            Event::Empty(element) if tag(&element) == "testcase" => {
                cases.push(new_case(&element, &suite));
            }
            Event::Start(element) | Event::Empty(element)
                if matches!(tag(&element).as_str(), "failure" | "error" | "skipped") =>
            {
                if let Some(case) = current.as_mut() {
                    case.status = match tag(&element).as_str() {
                        "failure" => Status::Failed,
                        "error" => Status::Error,
                        _ => Status::Skipped,
                    } as i32;
                    case.message = attribute(&element, "message");
                    in_detail = true;
                }
            }
            Event::Text(text) if in_detail => {
                if let Some(case) = current.as_mut()
                    && case.details.len() < MAX_DETAILS
                {
                    let text = text.xml_content(XmlVersion::Implicit1_0).into_owned();
                    case.details.push_str(&text);
                    if case.details.len() > MAX_DETAILS {
                        let mut cut = MAX_DETAILS;
                        while !case.details.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        case.details.truncate(cut);
                    }
                }
            }
            Event::End(element) => match AsRef::<str>::as_ref(&element.name()).to_string().as_str()
            {
                "testcase" => {
                    if let Some(mut case) = current.take() {
                        case.details = case.details.trim().to_string();
                        cases.push(case);
                    }
                }
                "failure" | "error" | "skipped" => in_detail = false,
                _ => {}
            },
            Event::Eof => return Ok(()),
            _ => {}
        }
        buffer.clear();
    }
}

fn tag(element: &BytesStart<'_>) -> String {
    AsRef::<str>::as_ref(&element.name()).to_string()
}

fn new_case(element: &BytesStart<'_>, suite: &str) -> TestCase {
    TestCase {
        name: attribute(element, "name"),
        class_name: attribute(element, "classname"),
        suite: suite.to_string(),
        duration: duration(&attribute(element, "time")),
        status: Status::Passed as i32,
        message: String::new(),
        details: String::new(),
    }
}

/// The results of a TEST step from its exit code and the reports read (`reports`:
/// path and content). Without reports, only the exit code counts.
pub fn results(exit_code: i32, reports: &[(String, Vec<u8>)]) -> Result<TestResults, String> {
    if reports.is_empty() {
        return Ok(TestResults {
            source: Source::ExitCode as i32,
            passed: exit_code == 0,
            exit_code,
            tests: 1,
            failures: i32::from(exit_code != 0),
            ..Default::default()
        });
    }
    let mut cases = Vec::new();
    for (path, content) in reports {
        parse_report(content, &mut cases).map_err(|e| format!("{path}: {e}"))?;
    }
    let count = |status: Status| cases.iter().filter(|c| c.status == status as i32).count() as i32;
    let (failures, errors, skipped) = (
        count(Status::Failed),
        count(Status::Error),
        count(Status::Skipped),
    );
    let total_nanos: i128 = cases
        .iter()
        .filter_map(|c| c.duration.as_ref())
        .map(|d| d.seconds as i128 * 1_000_000_000 + d.nanos as i128)
        .sum();
    // Failed and errored first, then the others, in report order.
    cases.sort_by_key(
        |c| match Status::try_from(c.status).unwrap_or(Status::Passed) {
            Status::Failed | Status::Error => 0,
            _ => 1,
        },
    );
    let tests = cases.len() as i32;
    let truncated = cases.len() > MAX_CASES;
    cases.truncate(MAX_CASES);
    Ok(TestResults {
        source: Source::JunitXml as i32,
        passed: exit_code == 0 && failures == 0 && errors == 0,
        exit_code,
        tests,
        failures,
        errors,
        skipped,
        duration: Some(prost_types::Duration {
            seconds: (total_nanos / 1_000_000_000) as i64,
            nanos: (total_nanos % 1_000_000_000) as i32,
        }),
        report_paths: reports.iter().map(|(p, _)| p.clone()).collect(),
        test_cases: cases,
        test_cases_truncated: truncated,
    })
}

/// Whether `path` (relative to the workspace) matches `pattern`, where `*` matches any
/// run of characters other than `/` and `?` one such character.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    fn inner(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => {
                inner(&p[1..], s) || (!s.is_empty() && s[0] != b'/' && inner(p, &s[1..]))
            }
            (Some(b'?'), Some(c)) if *c != b'/' => inner(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a == b => inner(&p[1..], &s[1..]),
            _ => false,
        }
    }
    inner(
        pattern.trim_start_matches("./").as_bytes(),
        path.trim_start_matches("./").as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = r#"<?xml version="1.0"?>
<testsuites>
  <testsuite name="unit" tests="3">
    <testcase name="adds" classname="math" time="0.5"/>
    <testcase name="divides" classname="math" time="0.25">
      <failure message="expected 2">assertion failed at line 3</failure>
    </testcase>
    <testcase name="later" classname="math"><skipped/></testcase>
  </testsuite>
</testsuites>"#;

    #[test]
    fn junit_reports_count_and_order_cases() {
        let results = results(0, &[("report.xml".into(), REPORT.as_bytes().to_vec())]).unwrap();
        assert_eq!(results.source(), Source::JunitXml);
        assert_eq!(
            (results.tests, results.failures, results.skipped),
            (3, 1, 1)
        );
        assert!(!results.passed, "a failure fails even with exit code 0");
        assert_eq!(results.test_cases[0].name, "divides");
        assert_eq!(results.test_cases[0].message, "expected 2");
        assert!(results.test_cases[0].details.contains("line 3"));
        assert_eq!(results.test_cases[0].suite, "unit");
        assert_eq!(results.duration.unwrap().nanos, 750_000_000);
    }

    #[test]
    fn without_reports_the_exit_code_decides() {
        let failed = results(3, &[]).unwrap();
        assert_eq!(
            (failed.source(), failed.passed, failed.failures),
            (Source::ExitCode, false, 1)
        );
        assert!(results(0, &[]).unwrap().passed);
        assert!(results(0, &[("r.xml".into(), b"<testsuite><testcase".to_vec())]).is_err());
    }

    #[test]
    fn globs_match_within_a_directory() {
        assert!(glob_match("reports/*.xml", "reports/a.xml"));
        assert!(!glob_match("reports/*.xml", "reports/sub/a.xml"));
        assert!(glob_match("junit.xml", "junit.xml"));
        assert!(glob_match("r?.xml", "r1.xml"));
    }
}
