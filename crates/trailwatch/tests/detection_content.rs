//! Checks the bundled ruleset in `rules/`: it loads without diagnostics,
//! every rule carries the metadata operators and compliance reports rely on,
//! every `*.test.yaml` case passes, and the rules detect real attack records
//! of the shared CloudTrail data (`../shared/data/cloudtrail`, read in place).

#[path = "../src/ruletest.rs"]
mod ruletest;

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use saphyr::{LoadableYamlNode, YamlOwned};
use serde_json::Value;
use trailwatch_rules::{Event, EventMeta, Loader, Matching, RuleSet};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rules_dir() -> PathBuf {
    repo().join("rules")
}

fn data_dir() -> PathBuf {
    repo().join("../shared/data/cloudtrail")
}

/// The rule files of the bundled ruleset, in load order.
fn rule_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(rules_dir())
        .expect("rules folder is readable")
        .map(|entry| entry.expect("rules folder entry").path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.ends_with(".yaml") && !name.ends_with(".test.yaml")
        })
        .collect();
    files.sort();
    files
}

fn load_bundled() -> RuleSet {
    let mut loader = Loader::new();
    for file in rule_files() {
        loader.add_path(&file);
    }
    let result = loader.finish();
    let shown: Vec<String> = result.diagnostics.iter().map(ToString::to_string).collect();
    assert!(
        shown.is_empty(),
        "bundled rules produce diagnostics:\n{}",
        shown.join("\n")
    );
    result
        .ruleset
        .expect("no diagnostics, so the ruleset exists")
}

/// Reads the `Records` of a CloudTrail log file, gunzipping `*.gz`.
fn records(path: &Path) -> Vec<Value> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut text = String::new();
    if path.extension().is_some_and(|ext| ext == "gz") {
        flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_string(&mut text)
            .unwrap();
    } else {
        text = String::from_utf8(bytes).unwrap();
    }
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    match doc["Records"].take() {
        Value::Array(records) => records,
        _ => panic!("{} has no Records array", path.display()),
    }
}

fn fired(ruleset: &RuleSet, record: &Value) -> Vec<String> {
    let meta = EventMeta {
        num: 1,
        hostname: Arc::from("test"),
    };
    let event = Event::parse(&record.to_string(), meta).expect("record is a JSON object");
    let mut out = Vec::new();
    ruleset.evaluate(&event, Matching::All, &mut out);
    out.into_iter().map(|d| d.rule).collect()
}

fn is_technique_id(tag: &str) -> bool {
    let Some(rest) = tag.strip_prefix('T') else {
        return false;
    };
    let (main, sub) = rest.split_once('.').unwrap_or((rest, "000"));
    main.len() == 4 && sub.len() == 3 && main.chars().chain(sub.chars()).all(|c| c.is_ascii_digit())
}

#[test]
fn bundled_rules_load_and_carry_metadata() {
    let ruleset = load_bundled();
    assert!(
        ruleset.enabled_count() >= 60,
        "only {} enabled rules",
        ruleset.enabled_count()
    );

    for rule in ruleset.rules() {
        let name = &rule.name;
        let tags = &rule.tags;
        assert_eq!(rule.source, "aws_cloudtrail", "{name}");
        assert!(
            rule.description.split_whitespace().count() >= 8,
            "{name}: desc too short"
        );
        assert!(tags.iter().any(|t| t == "aws"), "{name}: no aws tag");
        assert!(
            tags.iter().any(|t| t.starts_with("aws_")),
            "{name}: no service tag"
        );
        assert!(
            tags.iter().any(|t| t.starts_with("mitre_")),
            "{name}: no ATT&CK tactic tag"
        );
        assert!(
            tags.iter().any(|t| is_technique_id(t)),
            "{name}: no ATT&CK technique tag"
        );
        assert!(
            tags.iter()
                .any(|t| t.starts_with("NIST_800-53_") || t.starts_with("CIS_AWS_")),
            "{name}: no compliance control tag"
        );
        if tags.iter().any(|t| t == "aws_ecr" || t == "aws_ecs") {
            assert!(
                tags.iter().any(|t| t.starts_with("NIST_800-190_")),
                "{name}: container rule without NIST 800-190 tag"
            );
        }
    }

    // Outputs and priorities are not part of RuleInfo: read them from the
    // files themselves.
    let mut seen = 0;
    for file in rule_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let docs = YamlOwned::load_from_str(&text).unwrap();
        for item in docs
            .iter()
            .flat_map(|d| d.as_vec().cloned().unwrap_or_default())
        {
            let Some(name) = item
                .as_mapping_get("rule")
                .and_then(|n| n.as_str().map(str::to_string))
            else {
                continue;
            };
            seen += 1;
            assert!(
                !file.ends_with("00_common.yaml"),
                "{name}: 00_common.yaml must hold only lists and macros"
            );
            let output = item
                .as_mapping_get("output")
                .and_then(|o| o.as_str())
                .unwrap_or("");
            for field in [
                "%ct.user",
                "%ct.user.arn",
                "%ct.srcip",
                "%ct.region",
                "%ct.user.accountid",
            ] {
                assert!(output.contains(field), "{name}: output lacks {field}");
            }
            let priority = item
                .as_mapping_get("priority")
                .and_then(|p| p.as_str())
                .unwrap_or("");
            assert!(
                priority.parse::<trailwatch_rules::Priority>().is_ok(),
                "{name}: bad priority {priority:?}"
            );
        }
        let area = file
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .trim_end_matches(".yaml")
            .to_string();
        if area != "00_common" {
            assert!(
                rules_dir().join(format!("{area}.test.yaml")).is_file(),
                "{area}.yaml has no {area}.test.yaml"
            );
        }
    }
    assert_eq!(seen, ruleset.rules().len(), "every rule item was checked");
}

#[test]
fn case_files_pass_and_cover_every_rule() {
    let ruleset = load_bundled();
    let files = ruletest::find_case_files(&[rules_dir()]);
    assert!(files.len() >= 7, "case files found: {files:?}");

    let report = ruletest::run_case_files(&ruleset, &files).expect("case files are readable");
    assert!(
        report.failures.is_empty(),
        "{} of {} cases failed:\n{report}",
        report.failures.len(),
        report.cases
    );
    assert!(report.rules_without_positive_case.is_empty(), "{report}");
    assert!(report.rules_without_negative_case.is_empty(), "{report}");
    assert!(report.cases >= 2 * ruleset.enabled_count());
}

/// Records that look like the attacks above but are harmless must not
/// raise any alert at all.
#[test]
fn lookalike_records_raise_no_alert() {
    let ruleset = load_bundled();
    let invictus = data_dir().join("invictus-ir-aws_dataset");
    let panther =
        records(&data_dir().join("panther-analysis/panther_cloudtrail_rule_tests.json.gz"));
    let by_id = |file: &str, id: &str| -> Value {
        let path = invictus.join(format!(
            "218007301253_CloudTrail_us-east-1_20230710T{file}.json.gz"
        ));
        records(&path)
            .into_iter()
            .find(|r| r["eventID"] == id)
            .expect("record present")
    };
    let put_bucket_encryption = serde_json::json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLEUSER00001",
            "arn": "arn:aws:iam::111122223333:user/alice", "accountId": "111122223333",
            "accessKeyId": "AKIAIOSFODNN7EXAMPLE", "userName": "alice"},
        "eventTime": "2024-05-02T10:00:00Z", "eventSource": "s3.amazonaws.com",
        "eventName": "PutBucketEncryption", "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2.15.30",
        "requestParameters": {"bucketName": "example-data", "ServerSideEncryptionConfiguration":
            {"Rule": {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}}},
        "responseElements": null, "eventID": "5c1d2e3f-0000-4000-8000-000000000001",
        "readOnly": false, "eventType": "AwsApiCall", "recipientAccountId": "111122223333"
    });
    let lookalikes = [
        ("AttachRolePolicy with ReadOnlyAccess", panther[105].clone()),
        (
            "GetUser",
            by_id(
                "1200Z_iLj9fb7yyUG9X4Bf",
                "cc66d3e3-6fb2-4e6a-9cb3-8eff6c2c973a",
            ),
        ),
        (
            "DescribeAddresses",
            by_id(
                "1210Z_vj0QE0Tf5ZmzMsCo",
                "ead27fec-ccef-4888-8d55-f8ccbecfc2fd",
            ),
        ),
        ("PutBucketEncryption", put_bucket_encryption),
    ];
    for (what, record) in lookalikes {
        assert_eq!(
            record["eventName"],
            what.split(' ').next().unwrap(),
            "picked the intended record"
        );
        assert_eq!(
            fired(&ruleset, &record),
            Vec::<String>::new(),
            "{what} raised alerts"
        );
    }
}

/// Stratus Red Team techniques whose detonation is visible in the Invictus
/// files, the event that shows it, and the rule that must report it.
///
/// Left out on purpose, because the files hold only their set-up or clean-up
/// (Terraform warm-up, revert): vpc-remove-flow-logs (CreateFlowLogs only),
/// ec2-share-ebs-snapshot (the share's removal only), s3-backdoor-bucket-policy
/// (DeleteBucketPolicy only), iam-backdoor-user (DeleteAccessKey only),
/// iam-create-admin-user (DetachUserPolicy and DeleteUser only),
/// lambda-backdoor-function (RemovePermission only), ec2-user-data and
/// ec2-enumerate-from-instance (instance set-up only).
const INVICTUS_TECHNIQUES: &[(&str, &str, &str)] = &[
    (
        "aws.credential-access.ec2-get-password-data",
        "GetPasswordData",
        "EC2 Windows Password Data Requested",
    ),
    (
        "aws.credential-access.ec2-steal-instance-credentials",
        "SendCommand",
        "SSM Shell Command Sent To Instances",
    ),
    (
        "aws.credential-access.secretsmanager-retrieve-secrets",
        "GetSecretValue",
        "Secret Read With Long-Lived Credentials",
    ),
    (
        "aws.credential-access.ssm-retrieve-securestring-parameters",
        "GetParameters",
        "SSM Parameter Decrypted With Long-Lived Credentials",
    ),
    (
        "aws.defense-evasion.cloudtrail-delete",
        "DeleteTrail",
        "CloudTrail Tampering Attempt Failed",
    ),
    (
        "aws.defense-evasion.cloudtrail-event-selectors",
        "PutEventSelectors",
        "CloudTrail Event Selectors Reduced",
    ),
    (
        "aws.defense-evasion.cloudtrail-lifecycle-rule",
        "PutBucketLifecycle",
        "S3 Lifecycle Expiration Rule Set",
    ),
    (
        "aws.defense-evasion.cloudtrail-stop",
        "StopLogging",
        "CloudTrail Tampering Attempt Failed",
    ),
    (
        "aws.defense-evasion.organizations-leave",
        "LeaveOrganization",
        "Account Left Organization",
    ),
    (
        "aws.discovery.ec2-download-user-data",
        "DescribeInstanceAttribute",
        "EC2 Instance User Data Read",
    ),
    (
        "aws.execution.ec2-launch-unusual-instances",
        "RunInstances",
        "Accelerated EC2 Instance Launch Attempted",
    ),
    (
        "aws.exfiltration.ec2-security-group-open-port-22-ingress",
        "AuthorizeSecurityGroupIngress",
        "Security Group Ingress Open To Internet",
    ),
    (
        "aws.exfiltration.ec2-share-ami",
        "ModifyImageAttribute",
        "AMI Shared With Another Account",
    ),
    (
        "aws.exfiltration.rds-share-snapshot",
        "ModifyDBSnapshotAttribute",
        "RDS Snapshot Shared",
    ),
    (
        "aws.initial-access.console-login-without-mfa",
        "ConsoleLogin",
        "Console Login Without MFA",
    ),
    (
        "aws.persistence.iam-backdoor-role",
        "UpdateAssumeRolePolicy",
        "IAM Role Trust Policy Updated",
    ),
    (
        "aws.persistence.iam-create-user-login-profile",
        "CreateLoginProfile",
        "IAM Login Profile Created",
    ),
    (
        "aws.persistence.lambda-overwrite-code",
        "UpdateFunctionCode20150331v2",
        "Lambda Function Code Updated",
    ),
    (
        "aws.persistence.rolesanywhere-create-trust-anchor",
        "CreateTrustAnchor",
        "IAM Roles Anywhere Trust Anchor Created",
    ),
];

#[test]
fn stratus_techniques_in_invictus_data_are_detected() {
    let ruleset = load_bundled();
    let mut files: Vec<PathBuf> = std::fs::read_dir(data_dir().join("invictus-ir-aws_dataset"))
        .expect("Invictus data present")
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let all: Vec<Value> = files.iter().flat_map(|f| records(f)).collect();
    assert!(all.len() > 2000, "Invictus records: {}", all.len());

    for (technique, event_name, rule) in INVICTUS_TECHNIQUES {
        let evidence: Vec<&Value> = all
            .iter()
            .filter(|r| r["eventName"] == *event_name)
            .collect();
        assert!(
            !evidence.is_empty(),
            "{technique}: no {event_name} record in the data"
        );
        assert!(
            evidence
                .iter()
                .any(|r| fired(&ruleset, r).iter().any(|f| f == rule)),
            "{technique}: none of {} {event_name} records fires {rule:?}",
            evidence.len()
        );
    }
}

/// Panther rule id -> the rule(s) of ours that cover the same behaviour. A
/// test record that Panther expects to alert must fire one of them.
const PANTHER_EQUIVALENTS: &[(&str, &[&str])] = &[
    (
        "AWS.Bedrock.DeleteModelInvocationLoggingConfiguration",
        &["Bedrock Model Invocation Logging Deleted"],
    ),
    (
        "AWS.CloudTrail.AMIModifiedForPublicAccess",
        &["AMI Made Public"],
    ),
    (
        "AWS.CloudTrail.Account.Discovery",
        &["Account Contact Details Read"],
    ),
    (
        "AWS.CloudTrail.AttemptToLeaveOrg",
        &["Account Left Organization"],
    ),
    (
        "AWS.CloudTrail.CodebuildProjectMadePublic",
        &["CodeBuild Project Made Public"],
    ),
    (
        "AWS.CloudTrail.DNSLogsDeleted",
        &["Route 53 Resolver Query Logging Removed"],
    ),
    ("AWS.CloudTrail.EnableRegion", &["AWS Region Enabled"]),
    (
        "AWS.CloudTrail.EventSelectorsDisabled",
        &["CloudTrail Event Selectors Reduced"],
    ),
    (
        "AWS.CloudTrail.NetworkACLPermissiveEntry",
        &["Network ACL Allows Internet Ingress"],
    ),
    (
        "AWS.CloudTrail.RootAccessKeyCreated",
        &["Root Access Key Created"],
    ),
    (
        "AWS.CloudTrail.SES.CheckIdentityVerifications",
        &["SES Sending Identities Enumerated"],
    ),
    (
        "AWS.CloudTrail.SES.ListIdentities",
        &["SES Sending Identities Enumerated"],
    ),
    (
        "AWS.CloudTrail.SnapshotMadePublic",
        &[
            "EBS Snapshot Made Public",
            "EBS Snapshot Shared With Another Account",
        ],
    ),
    (
        "AWS.CloudTrail.UnauthorizedAPICall",
        &["Permission Denied On Sensitive Call"],
    ),
    (
        "AWS.ConfigService.DisabledDeleted",
        &["AWS Config Recording Stopped"],
    ),
    (
        "AWS.Console.GetSigninToken.Abuse",
        &["Console Sign-In Token Requested With Session Credentials"],
    ),
    ("AWS.Console.RootLogin", &["Root Account Used"]),
    (
        "AWS.Console.RootLoginFailed",
        &["Root Console Login Failed"],
    ),
    ("AWS.EC2.GatewayModified", &["Network Gateway Changed"]),
    (
        "AWS.EC2.LaunchUnusualEC2Instances",
        &["Accelerated EC2 Instance Launch Attempted"],
    ),
    (
        "AWS.EC2.ManyPasswordReadAttempts",
        &["EC2 Windows Password Data Requested"],
    ),
    (
        "AWS.EC2.MultiInstanceConnect",
        &["EC2 Instance Connect SSH Key Pushed"],
    ),
    ("AWS.EC2.NetworkACLModified", &["Network ACL Changed"]),
    ("AWS.EC2.RouteTableModified", &["Route Table Changed"]),
    ("AWS.EC2.Startup.Script.Change", &["EC2 User Data Modified"]),
    (
        "AWS.EC2.Traffic.Mirroring",
        &["VPC Traffic Mirroring Configured"],
    ),
    (
        "AWS.IAM.AccessKeyCompromised",
        &["IAM Inline Policy Changed"],
    ),
    (
        "AWS.IAM.AttachAdminRolePolicy",
        &["Administrator Policy Attached"],
    ),
    (
        "AWS.IAM.Backdoor.User.Keys",
        &["Access Key Created For Another User"],
    ),
    ("AWS.IAM.CreateUser", &["IAM User Created"]),
    ("AWS.IAM.PolicyModified", &["IAM Inline Policy Changed"]),
    (
        "AWS.KMS.CustomerManagedKeyLoss",
        &["KMS Key Disabled Or Scheduled For Deletion"],
    ),
    (
        "AWS.Lambda.UpdateFunctionConfiguration",
        &["Lambda Layer Added By Person"],
    ),
    ("AWS.Macie.Evasion", &["Macie Configuration Weakened"]),
    (
        "AWS.Potential.Backdoor.Lambda",
        &["Lambda Permission Added"],
    ),
    (
        "AWS.RDS.ActivityStreamStopped",
        &["RDS Activity Stream Stopped"],
    ),
    (
        "AWS.RDS.DeletionProtectionDisabled",
        &["RDS Deletion Protection Disabled"],
    ),
    ("AWS.RDS.InstanceDeletion", &["RDS Database Deleted"]),
    ("AWS.RDS.InstanceMadePublic", &["RDS Instance Made Public"]),
    (
        "AWS.RDS.MasterPasswordUpdated",
        &["RDS Master Password Changed"],
    ),
    ("AWS.RDS.PublicRestore", &["RDS Instance Made Public"]),
    ("AWS.RDS.SnapshotDeleted", &["RDS Snapshot Deleted"]),
    (
        "AWS.RDS.SnapshotEnumeration",
        &["Public RDS Snapshots Listed"],
    ),
    ("AWS.RDS.SnapshotShared", &["RDS Snapshot Shared"]),
    ("AWS.Root.Activity", &["Root Account Used"]),
    (
        "AWS.S3.BucketPolicyModified",
        &["S3 Bucket Access Configuration Changed"],
    ),
    (
        "AWS.S3.DeletePublicAccessBlock",
        &["S3 Public Access Block Removed"],
    ),
    (
        "AWS.S3.DisableBucketLogging",
        &["S3 Server Access Logging Disabled"],
    ),
    ("AWS.S3.DisableMfaDelete", &["S3 MFA Delete Disabled"]),
    ("AWS.S3.SuspendVersioning", &["S3 Versioning Suspended"]),
    (
        "AWS.SSM.DecryptSSMParams",
        &["SSM Parameter Decrypted With Long-Lived Credentials"],
    ),
    (
        "AWS.STS.GetCallerIdentity.TruffleHog",
        &["Leaked Key Checked By Secret Scanner"],
    ),
    (
        "AWS.SecurityHub.Finding.Evasion",
        &["Security Hub Findings Or Insights Altered"],
    ),
    (
        "AWS.Suspicious.SAML.Activity",
        &["IAM Identity Provider Changed"],
    ),
    ("AWS.Unsuccessful.MFA.attempt", &["Console Login Failed"]),
    ("AWS.VPCFlow.LogsDeleted", &["VPC Flow Logs Deleted"]),
    ("AWS.WAF.Disassociation", &["WAF Web ACL Disassociated"]),
    (
        "Retrieve.SSO.access.token",
        &["Identity Center Device Code Token Issued"],
    ),
    ("Standard.BruteForceByIP", &["Console Login Failed"]),
    ("Standard.BruteForceByUser", &["Console Login Failed"]),
];

/// Panther rule ids we do not cover, and why.
const PANTHER_NOT_COVERED: &[(&str, &str)] = &[
    (
        "AWS.CloudTrail.Created",
        "creating a trail adds logging; not a threat by itself",
    ),
    (
        "AWS.CloudTrail.IAMAssumeRoleBlacklistIgnored",
        "needs a site list of protected roles",
    ),
    (
        "AWS.CloudTrail.IMDSCredentialExfiltration",
        "needs the instance's own address, which a single record lacks",
    ),
    (
        "AWS.CloudTrail.Password.Policy.Discovery",
        "read-only call, too common to alert on statelessly",
    ),
    (
        "AWS.CloudTrail.UserAccessKeyAuth",
        "every access-key call would alert",
    ),
    (
        "AWS.CloudTrail.VPCE.AccessDenied",
        "S3 data events through VPC endpoints",
    ),
    (
        "AWS.CloudTrail.VPCE.ExternalPrincipal",
        "S3 data events; needs the list of own accounts",
    ),
    (
        "AWS.CloudTrail.VPCE.S3ExternalIP",
        "S3 data events; needs the expected address ranges",
    ),
    (
        "AWS.ConfigService.Created",
        "enabling AWS Config is not a threat",
    ),
    (
        "AWS.Console.Sign-In",
        "every successful sign-in; informational",
    ),
    (
        "AWS.EC2.Monitoring",
        "general EC2 change feed; too broad for an alert",
    ),
    (
        "AWS.EC2.StopInstances",
        "routine operation without a security signal on its own",
    ),
    (
        "AWS.EC2.Vulnerable.XZ.Image.Launched",
        "vulnerability management; needs a list of affected images",
    ),
    (
        "AWS.ECR.CRUD",
        "needs the site's list of allowed registries and principals",
    ),
    (
        "AWS.ECR.EVENTS",
        "needs the site's list of allowed registries and principals",
    ),
    (
        "AWS.IAM.CredentialsUpdated",
        "users changing their own credentials is routine",
    ),
    (
        "AWS.IAM.Group.Read.Only.Events",
        "read-only enumeration; needs counting over time",
    ),
    ("AWS.RDS.ClusterFailover", "availability operation"),
    ("AWS.RDS.InstanceRebooted", "availability operation"),
    (
        "AWS.RDS.LogFileDownloaded",
        "routine database administration",
    ),
    (
        "AWS.RDS.ManualSnapshotCreated",
        "snapshots are routine; the sharing step is what we alert on",
    ),
    (
        "AWS.S3.CopyObject.CrossAccount.Encryption.KMS",
        "S3 data events",
    ),
    ("AWS.S3.CopyObjectToExternalAccountBucket", "S3 data events"),
    (
        "AWS.S3.CopyObjectWithClientSideEncryption",
        "S3 data events",
    ),
    ("AWS.S3.DeleteObject", "S3 data events"),
    ("AWS.S3.RansomwareNoteUpload", "S3 data events"),
    ("Role.Assumed.by.AWS.Service", "informational indicator"),
    ("Role.Assumed.by.User", "informational indicator"),
    ("Sign-in.with.AWS.CLI.prompt", "informational indicator"),
    ("Standard.ImpossibleTravel.Login", "needs location history"),
    (
        "Standard.NewAWSAccountCreated",
        "its test records are not CloudTrail-shaped (no event source)",
    ),
    (
        "Standard.NewUserAccountCreated",
        "its test records are not CloudTrail-shaped (no event source)",
    ),
    ("Standard.SignInFromRogueState", "needs geolocation"),
];

#[test]
fn panther_true_positives_are_detected() {
    let ruleset = load_bundled();
    let dir = data_dir().join("panther-analysis");
    let panther = records(&dir.join("panther_cloudtrail_rule_tests.json.gz"));
    let labels =
        std::fs::read_to_string(dir.join("panther_cloudtrail_rule_tests.labels.tsv")).unwrap();

    let covered: BTreeSet<&str> = PANTHER_EQUIVALENTS.iter().map(|(id, _)| *id).collect();
    let skipped: BTreeSet<&str> = PANTHER_NOT_COVERED.iter().map(|(id, _)| *id).collect();
    assert!(covered.is_disjoint(&skipped));
    let loaded: BTreeSet<&str> = ruleset.rules().iter().map(|r| r.name.as_str()).collect();
    for (id, ours) in PANTHER_EQUIVALENTS {
        assert!(
            ours.iter().all(|r| loaded.contains(r)),
            "{id}: mapped to unknown rule {ours:?}"
        );
    }

    let mut checked = 0;
    let mut ids_in_labels = BTreeSet::new();
    for line in labels.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (index, id, test, expected, has_mocks) = (cols[0], cols[1], cols[3], cols[4], cols[5]);
        ids_in_labels.insert(id.to_string());
        assert!(
            covered.contains(id) || skipped.contains(id),
            "Panther rule {id} is neither mapped nor listed as not covered"
        );
        if expected != "True" || has_mocks != "False" || !covered.contains(id) {
            continue;
        }
        let ours = PANTHER_EQUIVALENTS
            .iter()
            .find(|(i, _)| *i == id)
            .unwrap()
            .1;
        let record = &panther[index.parse::<usize>().unwrap()];
        let got = fired(&ruleset, record);
        assert!(
            got.iter().any(|r| ours.contains(&r.as_str())),
            "Panther {id} test {test:?} (index {index}) expects an alert from {ours:?}; got {got:?}"
        );
        checked += 1;
    }
    assert!(
        checked >= 70,
        "only {checked} Panther true positives checked"
    );
    let stale: Vec<&&str> = covered
        .union(&skipped)
        .filter(|id| !ids_in_labels.contains(**id))
        .collect();
    assert!(
        stale.is_empty(),
        "mapped ids missing from the labels file: {stale:?}"
    );
}
