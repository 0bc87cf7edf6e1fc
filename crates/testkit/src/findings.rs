//! Reading back the Security Hub findings trailwatch imported into moto.

use aws_sdk_securityhub::types::AwsSecurityFinding;

/// Every finding the server holds whose generator is trailwatch's
/// (`trailwatch/<rule>`), across all pages. moto ignores GetFindings
/// filters, so the filtering happens here.
///
/// # Panics
///
/// When GetFindings fails: the test cannot go on without the findings.
pub async fn trailwatch_findings(client: &aws_sdk_securityhub::Client) -> Vec<AwsSecurityFinding> {
    let mut findings = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .get_findings()
            .max_results(100)
            .set_next_token(token)
            .send()
            .await
            .expect("GetFindings answers");
        findings.extend(page.findings().iter().cloned());
        token = page
            .next_token()
            .filter(|t| !t.is_empty())
            .map(String::from);
        if token.is_none() {
            break;
        }
    }
    findings.retain(|f| {
        f.generator_id()
            .is_some_and(|g| g.starts_with("trailwatch/"))
    });
    findings
}
