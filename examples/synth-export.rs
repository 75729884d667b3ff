//! synth-export: write a deterministic, synthetic AWS organisation in the export format
//! (docs/export-format.md), for benchmarks and scale tests (issue 9).
//!
//! ```text
//! cargo run --release --example synth-export -- --accounts 10 --roles-per-account 1000 --seed 1 --out /tmp/org
//! ```
//!
//! Writes `OUT/<account id>/` per account, each with `authorization-details.json` (AWS CLI v2
//! style: 4-space indent, model key order, `+00:00` timestamps), `last-accessed/{roles,users,groups}/
//! <Name>.json` (ACTION_LEVEL, every granted service listed, sorted by namespace) and
//! `credential-report.csv`. Same arguments → byte-identical files (splitmix64, no clock).
//!
//! The policy mix is modelled on real accounts: real AWS managed documents (read from
//! `sample-data/sources/aws-managed-policies.json`, or `--managed-policies FILE` for the full
//! dump, which adds PowerUserAccess, SecurityAudit, ...), a per-account pool of customer policies
//! (`service:*`, `service:Verb*`, explicit action lists, Deny, `NotAction`, conditions, several
//! versions), inline policies, permissions boundaries, users in groups. Which services a
//! principal's policies grant is computed with the engine (`Catalog` + `Expander`), exactly as
//! AWS lists them in last-accessed reports. Usage: most granted actions unused; a few services per
//! principal used, about two thirds of those within 90 days.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Parser;
use iam_tighten::analysis::is_not_observable;
use iam_tighten::catalog::{ActionId, ActionSet, Catalog};
use iam_tighten::policy::{Expander, PolicyDocument};
use serde_json::{Map, Value, json};

#[derive(Parser, Debug)]
#[command(about = "Write a synthetic AWS organisation export (deterministic)")]
struct Args {
    /// Number of accounts (one export folder each).
    #[arg(long, default_value_t = 10)]
    accounts: usize,
    /// Roles per account.
    #[arg(long, default_value_t = 100)]
    roles_per_account: usize,
    /// Users per account (default: roles/10, at least 2).
    #[arg(long)]
    users_per_account: Option<usize>,
    /// PRNG seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Organisation folder to write (must be empty or absent).
    #[arg(long)]
    out: PathBuf,
    /// A {name: {VersionId, CreateDate, Document}} dump of AWS managed policies
    /// (default: sample-data/sources/aws-managed-policies.json, 12 policies).
    #[arg(long)]
    managed_policies: Option<PathBuf>,
    /// Write the organisation of --seed one quarter later instead: evolution seed N removes,
    /// re-creates and adds a few percent of principals, attaches and detaches policies, edits
    /// customer policies, draws some principals' usage anew, and moves the as-of time 91 days
    /// on (see examples/synth-export/evolve.rs). Same arguments → same files.
    #[arg(long, value_name = "N")]
    evolve: Option<u64>,
    /// IAM Identity Center permission sets, each provisioned to every account: each account
    /// gets a role `AWSReservedSSO_<set>_<hash>` per set (with last-accessed data), and the
    /// organisation folder gets `organization/` (tree, `sso/`) with the first account as the
    /// management account.
    #[arg(long, default_value_t = 0, value_name = "N")]
    permission_sets: usize,
}

#[path = "synth-export/evolve.rs"]
mod evolve;

// ------------------------------------------------------------------------------------------ rng

/// splitmix64: tiny, fast, and stable across platforms and releases.
#[derive(Clone)]
struct Rng(u64);

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn hash_str(s: &str) -> u64 {
    // FNV-1a, then mixed: a stable hash of a name.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(h)
}

impl Rng {
    fn new(seed: u64, parts: &[u64]) -> Rng {
        let mut s = mix(seed ^ 0x9e37_79b9_7f4a_7c15);
        for p in parts {
            s = mix(s ^ p.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        }
        Rng(s)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }
    /// Uniform in 0..n (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn range(&mut self, lo: usize, hi_incl: usize) -> usize {
        lo + self.below(hi_incl - lo + 1)
    }
    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

// ------------------------------------------------------------------------------------------ time

/// 2026-11-20T09:12:00Z, the as-of of every generated export (same as the sample's q4).
const AS_OF: i64 = 1_795_165_920;
const DAY: i64 = 86_400;

fn civil(days: i64) -> (i64, u32, u32) {
    // Howard Hinnant's days → civil date.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// CLI v2 (`datetime.isoformat()`): `2026-11-17T08:41:00+00:00`, with `.ffffff` when `micros` > 0.
fn ts(secs: i64, micros: u32) -> String {
    let (y, m, d) = civil(secs.div_euclid(DAY));
    let s = secs.rem_euclid(DAY);
    let frac = if micros > 0 {
        format!(".{micros:06}")
    } else {
        String::new()
    };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{frac}+00:00",
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

fn minute(secs: i64) -> i64 {
    secs - secs.rem_euclid(60)
}

// ------------------------------------------------------------------------------------------ data

/// AWS managed policies the generator attaches: name, path, policy CreateDate.
const AWS_MANAGED: &[(&str, &str, &str)] = &[
    ("AdministratorAccess", "/", "2015-02-06T18:39:46Z"),
    ("PowerUserAccess", "/", "2015-02-06T18:39:47Z"),
    ("ReadOnlyAccess", "/", "2015-02-06T18:39:48Z"),
    ("SecurityAudit", "/", "2015-02-06T18:41:01Z"),
    ("ViewOnlyAccess", "/job-function/", "2016-11-10T17:20:15Z"),
    ("AmazonEC2FullAccess", "/", "2015-02-06T18:40:15Z"),
    ("AmazonEC2ReadOnlyAccess", "/", "2015-02-06T18:40:17Z"),
    ("AmazonS3FullAccess", "/", "2015-02-06T18:40:58Z"),
    ("AmazonS3ReadOnlyAccess", "/", "2015-02-06T18:40:59Z"),
    ("AmazonDynamoDBFullAccess", "/", "2015-02-06T18:40:11Z"),
    ("AmazonSQSFullAccess", "/", "2015-02-06T18:41:07Z"),
    ("CloudWatchLogsFullAccess", "/", "2015-02-06T18:40:49Z"),
    ("AmazonSSMManagedInstanceCore", "/", "2019-03-15T17:22:12Z"),
    (
        "AWSLambdaBasicExecutionRole",
        "/service-role/",
        "2015-04-09T15:03:43Z",
    ),
    (
        "AWSLambdaVPCAccessExecutionRole",
        "/service-role/",
        "2016-02-11T23:15:26Z",
    ),
    ("AWSLambda_ReadOnlyAccess", "/", "2020-11-17T21:59:16Z"),
    ("AWSCloudTrail_ReadOnlyAccess", "/", "2022-06-14T17:19:05Z"),
    ("IAMUserChangePassword", "/", "2016-11-15T23:18:55Z"),
    (
        "AmazonECSServiceRolePolicy",
        "/aws-service-role/",
        "2017-10-14T01:18:58Z",
    ),
    (
        "AWSTrustedAdvisorServiceRolePolicy",
        "/aws-service-role/",
        "2018-02-22T21:24:25Z",
    ),
];

/// Services customer policies are written for (filtered against the catalog).
const COMMON_SERVICES: &[&str] = &[
    "s3",
    "dynamodb",
    "sqs",
    "sns",
    "lambda",
    "logs",
    "cloudwatch",
    "ec2",
    "ecr",
    "ecs",
    "kms",
    "secretsmanager",
    "ssm",
    "states",
    "events",
    "kinesis",
    "firehose",
    "glue",
    "athena",
    "rds",
    "elasticache",
    "cloudformation",
    "apigateway",
    "cognito-idp",
    "sts",
    "xray",
    "es",
    "route53",
    "acm",
    "iam",
    "codebuild",
    "codepipeline",
    "sagemaker",
    "bedrock",
    "elasticloadbalancing",
    "autoscaling",
    "cloudfront",
    "ses",
    "batch",
    "eks",
    "backup",
    "athena",
    "redshift",
    "tag",
];

/// Services principals most often actually use (preferred when picking used services).
const POPULAR: &[&str] = &[
    "s3",
    "sts",
    "iam",
    "ec2",
    "logs",
    "cloudwatch",
    "kms",
    "lambda",
    "dynamodb",
    "ssm",
    "cloudformation",
    "sqs",
    "sns",
    "ecr",
    "secretsmanager",
    "cloudtrail",
    "config",
    "events",
];

/// Services with action-level tracking (documented for S3, EC2, IAM, Lambda management actions).
const TRACKED: &[&str] = &["ec2", "iam", "lambda", "s3"];

const REGIONS: &[&str] = &[
    "eu-west-1",
    "eu-west-1",
    "us-east-1",
    "eu-central-1",
    "us-west-2",
];
const TEAMS: &[&str] = &[
    "orders",
    "payments",
    "search",
    "catalog",
    "identity",
    "data",
    "ml",
    "platform",
    "web",
    "mobile",
    "billing",
    "analytics",
    "infra",
    "security",
    "support",
    "growth",
];
const VERBS: &[&str] = &[
    "Get", "List", "Describe", "Put", "Create", "Update", "Delete",
];

const SERVICE_NAMES: &[(&str, &str)] = &[
    ("access-analyzer", "IAM Access Analyzer"),
    ("account", "AWS Account Management"),
    ("acm", "AWS Certificate Manager"),
    ("apigateway", "Amazon API Gateway"),
    ("athena", "Amazon Athena"),
    ("autoscaling", "Amazon EC2 Auto Scaling"),
    ("backup", "AWS Backup"),
    ("batch", "AWS Batch"),
    ("bedrock", "Amazon Bedrock"),
    ("budgets", "AWS Budget Service"),
    ("ce", "AWS Cost Explorer Service"),
    ("cloudformation", "AWS CloudFormation"),
    ("cloudfront", "Amazon CloudFront"),
    ("cloudtrail", "AWS CloudTrail"),
    ("cloudwatch", "Amazon CloudWatch"),
    ("codebuild", "AWS CodeBuild"),
    ("codecommit", "AWS CodeCommit"),
    ("codedeploy", "AWS CodeDeploy"),
    ("codepipeline", "AWS CodePipeline"),
    ("cognito-idp", "Amazon Cognito User Pools"),
    ("config", "AWS Config"),
    ("dynamodb", "Amazon DynamoDB"),
    ("ec2", "Amazon EC2"),
    ("ecr", "Amazon Elastic Container Registry"),
    ("ecs", "Amazon Elastic Container Service"),
    ("eks", "Amazon Elastic Kubernetes Service"),
    ("elasticache", "Amazon ElastiCache"),
    ("elasticloadbalancing", "Elastic Load Balancing"),
    ("es", "Amazon OpenSearch Service"),
    ("events", "Amazon EventBridge"),
    ("firehose", "Amazon Kinesis Firehose"),
    ("glue", "AWS Glue"),
    ("guardduty", "Amazon GuardDuty"),
    ("iam", "AWS Identity and Access Management"),
    ("kinesis", "Amazon Kinesis"),
    ("kms", "AWS Key Management Service"),
    ("lambda", "AWS Lambda"),
    ("logs", "Amazon CloudWatch Logs"),
    ("organizations", "AWS Organizations"),
    ("rds", "Amazon RDS"),
    ("redshift", "Amazon Redshift"),
    ("route53", "Amazon Route 53"),
    ("s3", "Amazon S3"),
    ("sagemaker", "Amazon SageMaker"),
    ("secretsmanager", "AWS Secrets Manager"),
    ("securityhub", "AWS Security Hub"),
    ("ses", "Amazon SES"),
    ("sns", "Amazon SNS"),
    ("sqs", "Amazon SQS"),
    ("ssm", "AWS Systems Manager"),
    ("states", "AWS Step Functions"),
    ("sts", "AWS Security Token Service"),
    ("support", "AWS Support"),
    ("tag", "Amazon Resource Group Tagging API"),
    ("trustedadvisor", "AWS Trusted Advisor"),
    ("xray", "AWS X-Ray"),
];

fn service_name(ns: &str) -> String {
    if let Some((_, n)) = SERVICE_NAMES.iter().find(|(k, _)| *k == ns) {
        return (*n).to_string();
    }
    let words: Vec<String> = ns
        .split('-')
        .map(|w| {
            if w.len() <= 3 {
                w.to_uppercase()
            } else {
                let mut c = w.chars();
                c.next().map_or_else(String::new, |f| {
                    f.to_uppercase().collect::<String>() + c.as_str()
                })
            }
        })
        .collect();
    format!("AWS {}", words.join(" "))
}

const CRED_HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,\
password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,\
access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,\
access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,\
cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

// ------------------------------------------------------------------------------------------ model

/// A policy document plus its expansion (allowed, unconditional-deny) against the catalog.
#[derive(Clone)]
struct Doc {
    json: Value,
    allowed: Arc<ActionSet>,
    denied: Arc<ActionSet>,
}

struct Managed {
    name: String,
    arn: String,
    path: String,
    id: String,
    created: String,
    /// (version id, create date, document), newest (default) first.
    versions: Vec<(String, String, Value)>,
    doc: Doc,
    aws: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Role,
    User,
    Group,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Role => "role",
            Kind::User => "user",
            Kind::Group => "group",
        }
    }
}

struct Principal {
    kind: Kind,
    name: String,
    path: String,
    created: i64,
    inline: Vec<(String, Doc)>,
    managed: Vec<usize>,
    boundary: Option<usize>,
    trust: Option<Value>,
    tags: Vec<(String, String)>,
    groups: Vec<usize>,
    instance_profile: bool,
    /// Activity profile: 0 never used, 1 normal.
    active: bool,
    /// `--evolve`: gone this quarter (not written).
    removed: bool,
    /// `--evolve`: deleted and re-created under the same name this many times (a new id).
    generation: u32,
    /// `--evolve`: usage drawn with the evolution seed.
    reroll: bool,
}

/// A role as its archetype makes it (see `Account::shape`).
struct Shape {
    name: String,
    managed: Vec<usize>,
    inline: Vec<(String, Doc)>,
    path: String,
    trust: Value,
    instance_profile: bool,
}

/// The customer policies roles are given: the per-account pool and the three shared ones.
struct Pools {
    pool: Vec<usize>,
    boundary: usize,
    guarded: usize,
    ci: usize,
}

struct Ctx<'c> {
    seed: u64,
    /// The export's as-of time: [`AS_OF`], a quarter later with `--evolve`.
    as_of: i64,
    /// `--evolve`'s seed.
    evolve: Option<u64>,
    catalog: &'c Catalog,
    expander: Expander<'c>,
    services: Vec<&'static str>,
    aws: Vec<Managed>,
}

impl Ctx<'_> {
    fn doc(&mut self, json: Value) -> anyhow::Result<Doc> {
        let parsed =
            PolicyDocument::from_value(json.clone()).map_err(|e| anyhow::anyhow!("{e}"))?;
        let e = self.expander.document(&parsed);
        Ok(Doc {
            json,
            allowed: Arc::new(e.allowed),
            denied: Arc::new(e.denied),
        })
    }

    fn aws_index(&self, name: &str) -> Option<usize> {
        self.aws.iter().position(|m| m.name == name)
    }

    fn actions_of(&self, svc: &str) -> Vec<ActionId> {
        self.catalog.service_actions(svc).collect()
    }

    fn full(&self, id: ActionId) -> String {
        self.catalog.full_name(id)
    }

    /// One random statement (a JSON object) for a customer or inline policy.
    fn statement(&self, rng: &mut Rng, account: &str, sid: Option<String>) -> Value {
        let mut st = Map::new();
        if let Some(s) = sid {
            st.insert("Sid".into(), Value::String(s));
        }
        let roll = rng.below(100);
        let svc = *rng.pick(&self.services);
        if roll < 7 {
            // Unconditional Deny of a few actions (e.g. protect the trail, the KMS keys).
            st.insert("Effect".into(), json!("Deny"));
            let acts = self.actions_of(svc);
            let n = rng.range(1, 4).min(acts.len());
            let list: Vec<Value> = (0..n).map(|_| json!(self.full(*rng.pick(&acts)))).collect();
            st.insert("Action".into(), Value::Array(list));
            st.insert("Resource".into(), json!("*"));
            return Value::Object(st);
        }
        if roll < 12 {
            // Conditional region guard with NotAction (never subtracted: it has a condition).
            st.insert("Effect".into(), json!("Deny"));
            st.insert(
                "NotAction".into(),
                json!([
                    "iam:*",
                    "organizations:*",
                    "sts:*",
                    "support:*",
                    "cloudfront:*",
                    "route53:*"
                ]),
            );
            st.insert("Resource".into(), json!("*"));
            st.insert(
                "Condition".into(),
                json!({"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"]}}),
            );
            return Value::Object(st);
        }
        st.insert("Effect".into(), json!("Allow"));
        let action: Value = if roll < 32 {
            // service:*
            json!(format!("{svc}:*"))
        } else if roll < 55 {
            // service:Verb* on one or two services
            let n = rng.range(1, 2);
            let mut v = Vec::new();
            for _ in 0..n {
                let s = *rng.pick(&self.services);
                let acts = self.actions_of(s);
                let name = &self.catalog.action(*rng.pick(&acts)).name;
                let verb = VERBS
                    .iter()
                    .find(|vb| name.starts_with(**vb))
                    .copied()
                    .unwrap_or_else(|| *rng.pick(&VERBS[..3]));
                v.push(json!(format!("{s}:{verb}*")));
            }
            if v.len() == 1 {
                v.remove(0)
            } else {
                Value::Array(v)
            }
        } else {
            // explicit action list from one service; rarely a typo that matches nothing
            let acts = self.actions_of(svc);
            let n = rng.range(2, 12).min(acts.len());
            let mut v: Vec<String> = (0..n).map(|_| self.full(*rng.pick(&acts))).collect();
            v.sort();
            v.dedup();
            if rng.chance(0.01) {
                v.push("s3:GetObjekt".into());
            }
            Value::Array(v.into_iter().map(Value::String).collect())
        };
        st.insert("Action".into(), action);
        let resource = if rng.chance(0.5) {
            json!("*")
        } else {
            let team = rng.pick(TEAMS);
            match svc {
                "s3" => json!([
                    format!("arn:aws:s3:::{team}-{account}"),
                    format!("arn:aws:s3:::{team}-{account}/*")
                ]),
                _ => json!(format!("arn:aws:{svc}:eu-west-1:{account}:*{team}*")),
            }
        };
        st.insert("Resource".into(), resource);
        if rng.chance(0.12) {
            let cond = match rng.below(3) {
                0 => json!({"StringEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"]}}),
                1 => json!({"Bool": {"aws:SecureTransport": "true"}}),
                _ => json!({"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}),
            };
            st.insert("Condition".into(), cond);
        }
        Value::Object(st)
    }

    fn random_doc(&self, rng: &mut Rng, account: &str, lo: usize, hi: usize) -> Value {
        let n = rng.range(lo, hi);
        let sids = rng.chance(0.4);
        let stmts: Vec<Value> = (0..n)
            .map(|i| self.statement(rng, account, sids.then(|| format!("Stmt{}", i + 1))))
            .collect();
        json!({"Version": "2012-10-17", "Statement": stmts})
    }
}

fn iam_id(prefix: &str, seed: u64, parts: &str) -> String {
    const B32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut r = Rng::new(seed, &[hash_str(parts)]);
    let mut s = String::from(prefix);
    for _ in 0..17 {
        s.push(B32[r.below(32)] as char);
    }
    s
}

fn load_aws_managed(ctx: &mut Ctx, path: &Path) -> anyhow::Result<()> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let all: Map<String, Value> =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    for (name, mpath, created) in AWS_MANAGED {
        let Some(src) = all.get(*name) else { continue };
        let version = src["VersionId"].as_str().unwrap_or("v1").to_string();
        let vdate = src["CreateDate"].as_str().unwrap_or(created).to_string();
        let document = src["Document"].clone();
        let doc = ctx.doc(document.clone())?;
        ctx.aws.push(Managed {
            name: (*name).to_string(),
            arn: format!("arn:aws:iam::aws:policy{mpath}{name}"),
            path: (*mpath).to_string(),
            id: iam_id("ANPA", 0, &format!("aws/{name}")),
            created: z_to_v2(created),
            versions: vec![(version, z_to_v2(&vdate), document)],
            doc,
            aws: true,
        });
    }
    for must in [
        "AdministratorAccess",
        "ReadOnlyAccess",
        "AmazonS3FullAccess",
        "AWSLambdaBasicExecutionRole",
    ] {
        if ctx.aws_index(must).is_none() {
            bail!("{} lacks the AWS managed policy {must}", path.display());
        }
    }
    Ok(())
}

/// `2015-02-06T18:39:46Z` → `2015-02-06T18:39:46+00:00` (CLI v2).
fn z_to_v2(s: &str) -> String {
    match s.strip_suffix('Z') {
        Some(rest) => format!("{rest}+00:00"),
        None => s.to_string(),
    }
}

// ------------------------------------------------------------------------------------------ one account

struct Account<'a, 'c> {
    ctx: &'a mut Ctx<'c>,
    id: String,
    index: u64,
    customer: Vec<Managed>,
    principals: Vec<Principal>,
    /// Set by `build`.
    pools: Option<Pools>,
}

/// Role archetypes with weights in per-mille (modelled on real accounts: mostly narrow service
/// and application roles, a few percent broad ones).
const ARCHETYPES: &[(&str, usize)] = &[
    ("admin", 25),
    ("poweruser", 12),
    ("readonly", 30),
    ("audit", 15),
    ("s3full", 40),
    ("ec2full", 20),
    ("ec2read", 40),
    ("ec2instance", 60),
    ("lambda", 300),
    ("app", 318),
    ("ci", 60),
    ("ops-guarded", 10),
    ("service-linked", 20),
    ("data", 50),
];

fn pick_archetype(rng: &mut Rng) -> &'static str {
    let total: usize = ARCHETYPES.iter().map(|a| a.1).sum();
    let mut x = rng.below(total);
    for (name, w) in ARCHETYPES {
        if x < *w {
            return name;
        }
        x -= w;
    }
    "app"
}

impl<'a, 'c> Account<'a, 'c> {
    fn rng(&self, parts: &[u64]) -> Rng {
        let mut all = vec![self.index];
        all.extend_from_slice(parts);
        Rng::new(self.ctx.seed, &all)
    }

    fn customer_policy(
        &mut self,
        name: &str,
        document: Value,
        rng: &mut Rng,
    ) -> anyhow::Result<usize> {
        let created = AS_OF - DAY * rng.range(100, 1500) as i64 - rng.below(DAY as usize) as i64;
        let nversions = match rng.below(10) {
            0 => 3,
            1 | 2 => 2,
            _ => 1,
        };
        let mut versions = Vec::new();
        let mut t = created;
        for v in 1..=nversions {
            let mut d = document.clone();
            if v < nversions
                && let Some(list) = d.get_mut("Statement").and_then(Value::as_array_mut)
                && list.len() > 1
            {
                list.truncate(list.len() - (nversions - v).min(list.len() - 1));
            }
            versions.push((format!("v{v}"), ts(t, 0), d));
            t += DAY * rng.range(5, 60) as i64;
        }
        versions.reverse();
        let doc = self.ctx.doc(document)?;
        self.customer.push(Managed {
            name: name.to_string(),
            arn: format!("arn:aws:iam::{}:policy/{name}", self.id),
            path: "/".into(),
            id: iam_id("ANPA", self.ctx.seed, &format!("{}/{name}", self.id)),
            created: ts(created, 0),
            versions,
            doc,
            aws: false,
        });
        Ok(self.customer.len() - 1)
    }

    fn build(&mut self, roles: usize, users: usize) -> anyhow::Result<()> {
        let acct = self.id.clone();
        // Customer policy pool.
        let pool_n = (roles / 20).clamp(10, 400);
        let mut rng = self.rng(&[1]);
        let mut pool = Vec::new();
        for i in 0..pool_n {
            let team = *rng.pick(TEAMS);
            let d = self.ctx.random_doc(&mut rng, &acct, 1, 5);
            pool.push(self.customer_policy(&format!("{team}-access-{i:04}"), d, &mut rng)?);
        }
        let boundary_doc = json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "Workloads", "Effect": "Allow", "Action": ["s3:*", "dynamodb:*", "sqs:*", "sns:*", "lambda:*",
              "logs:*", "cloudwatch:*", "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "secretsmanager:GetSecretValue",
              "ssm:Get*", "states:*", "events:*", "xray:*", "ecr:*", "ecs:*", "iam:PassRole"], "Resource": "*"},
            {"Sid": "NoIdentityChanges", "Effect": "Deny", "Action": ["iam:Create*", "iam:Delete*", "iam:Put*",
              "iam:Attach*", "iam:Detach*"], "Resource": "*"}]});
        let boundary = self.customer_policy("workload-boundary", boundary_doc, &mut rng)?;
        let guarded_doc = json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "AllExceptIdentity", "Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"},
            {"Sid": "NeverTouchTheTrail", "Effect": "Deny", "Action": ["cloudtrail:StopLogging", "cloudtrail:DeleteTrail",
              "s3:DeleteBucket"], "Resource": "*"},
            {"Sid": "OnlyOurRegions", "Effect": "Deny", "Action": "ec2:*", "Resource": "*",
             "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"]}}}]});
        let guarded = self.customer_policy("power-user-guarded", guarded_doc, &mut rng)?;
        let ci_doc = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["cloudformation:*", "s3:*", "lambda:UpdateFunctionCode", "lambda:PublishVersion",
              "lambda:UpdateAlias", "ecr:*", "ecs:UpdateService", "ecs:RegisterTaskDefinition"], "Resource": "*"},
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": format!("arn:aws:iam::{acct}:role/*"),
             "Condition": {"StringEquals": {"iam:PassedToService": ["cloudformation.amazonaws.com", "ecs-tasks.amazonaws.com"]}}}]});
        let ci = self.customer_policy("ci-deploy-policy", ci_doc, &mut rng)?;

        let aws = |ctx: &Ctx, name: &str| ctx.aws_index(name);
        // Managed refs are encoded: aws policy i → i, customer policy j → 10_000 + j.
        const C: usize = 10_000;

        // Groups.
        let ngroups = (users / 15).clamp(3, 30);
        let mut group_ids = Vec::new();
        for g in 0..ngroups {
            let mut r = self.rng(&[3, g as u64]);
            let (name, managed, inline): (String, Vec<usize>, Vec<(String, Doc)>) = match g {
                0 => (
                    "admins".into(),
                    aws(self.ctx, "AdministratorAccess").into_iter().collect(),
                    vec![],
                ),
                1 => (
                    "auditors".into(),
                    ["SecurityAudit", "ReadOnlyAccess"]
                        .iter()
                        .find_map(|n| aws(self.ctx, n))
                        .into_iter()
                        .chain(aws(self.ctx, "AWSCloudTrail_ReadOnlyAccess"))
                        .collect(),
                    vec![],
                ),
                _ => {
                    let team = *r.pick(TEAMS);
                    let mut m: Vec<usize> = (0..r.range(1, 3))
                        .map(|_| C + pool[r.below(pool.len())])
                        .collect();
                    m.sort_unstable();
                    m.dedup();
                    if r.chance(0.3) {
                        m.extend(aws(self.ctx, "AWSLambda_ReadOnlyAccess"));
                    }
                    let d = self.ctx.random_doc(&mut r, &acct, 1, 3);
                    (
                        format!("{team}-developers-{g:03}"),
                        m,
                        vec![(format!("{team}-base"), self.ctx.doc(d)?)],
                    )
                }
            };
            group_ids.push(self.principals.len());
            self.principals.push(Principal {
                kind: Kind::Group,
                name,
                path: "/".into(),
                created: AS_OF - DAY * r.range(200, 2500) as i64 - r.below(DAY as usize) as i64,
                inline,
                managed,
                boundary: None,
                trust: None,
                tags: vec![],
                groups: vec![],
                instance_profile: false,
                active: true,
                removed: false,
                generation: 0,
                reroll: false,
            });
        }

        // Roles.
        let pools = Pools {
            pool: pool.clone(),
            boundary,
            guarded,
            ci,
        };
        for i in 0..roles {
            let role = self.role(i, &pools)?;
            self.principals.push(role);
        }
        self.pools = Some(pools);

        // Users.
        for u in 0..users {
            let mut r = self.rng(&[5, u as u64]);
            let mut groups = Vec::new();
            if u % 40 == 0 {
                groups.push(group_ids[0]); // admins: a few
            } else if u % 25 == 1 {
                groups.push(group_ids[1]);
            } else if r.chance(0.85) {
                groups.push(group_ids[2 + r.below(group_ids.len() - 2)]);
                if r.chance(0.2) {
                    groups.push(group_ids[2 + r.below(group_ids.len() - 2)]);
                }
            }
            groups.sort_unstable();
            groups.dedup();
            let mut managed = Vec::new();
            if r.chance(0.5) {
                managed.extend(self.ctx.aws_index("IAMUserChangePassword"));
            }
            if r.chance(0.1) {
                managed.push(C + pool[r.below(pool.len())]);
            }
            let mut inline = Vec::new();
            if r.chance(0.2) {
                let d = self.ctx.random_doc(&mut r, &acct, 1, 2);
                inline.push(("personal".to_string(), self.ctx.doc(d)?));
            }
            let team = *r.pick(TEAMS);
            self.principals.push(Principal {
                kind: Kind::User,
                name: format!("{team}.user{u:05}"),
                path: "/".into(),
                created: AS_OF - DAY * r.range(10, 2400) as i64 - r.below(DAY as usize) as i64,
                inline,
                managed,
                boundary: None,
                trust: None,
                tags: vec![("email".into(), format!("{team}.user{u:05}@example.com"))],
                groups,
                instance_profile: false,
                active: !r.chance(0.15),
                removed: false,
                generation: 0,
                reroll: false,
            });
        }
        Ok(())
    }

    /// Role `i` of the account (its archetype, policies and dates from the seed and `i`).
    /// What archetype `arch` gives role `i`: its name, policies, path, trust policy and
    /// instance profile.
    fn shape(
        &mut self,
        arch: &str,
        team: &str,
        i: usize,
        r: &mut Rng,
        pools: &Pools,
    ) -> anyhow::Result<Shape> {
        let acct = self.id.clone();
        let Pools {
            pool,
            boundary: _,
            guarded,
            ci,
        } = pools;
        let (pool, guarded, ci) = (pool.as_slice(), *guarded, *ci);
        const C: usize = 10_000;
        let mut managed: Vec<usize> = Vec::new();
        let mut inline: Vec<(String, Doc)> = Vec::new();
        let mut path = "/".to_string();
        let mut instance_profile = false;
        let mgmt = json!({"AWS": "arn:aws:iam::999999999999:root"});
        let mut trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{acct}:root")}, "Action": "sts:AssumeRole"}]});
        let svc_trust = |s: &str| {
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": s}, "Action": "sts:AssumeRole"}]})
        };
        let add_aws = |m: &mut Vec<usize>, ctx: &Ctx, n: &str| m.extend(ctx.aws_index(n));
        let name = match arch {
            "org-access" => {
                add_aws(&mut managed, self.ctx, "AdministratorAccess");
                trust["Statement"][0]["Principal"] = mgmt.clone();
                "OrganizationAccountAccessRole".to_string()
            }
            "admin" => {
                add_aws(&mut managed, self.ctx, "AdministratorAccess");
                trust["Statement"][0]["Principal"] = mgmt.clone();
                trust["Statement"][0]["Condition"] =
                    json!({"Bool": {"aws:MultiFactorAuthPresent": "true"}});
                format!("{team}-admin-{i:06}")
            }
            "poweruser" => {
                match self.ctx.aws_index("PowerUserAccess") {
                    Some(p) => managed.push(p),
                    None => managed.push(C + guarded),
                }
                format!("{team}-poweruser-{i:06}")
            }
            "readonly" => {
                add_aws(&mut managed, self.ctx, "ReadOnlyAccess");
                trust["Statement"][0]["Principal"] = mgmt.clone();
                format!("{team}-readonly-{i:06}")
            }
            "audit" => {
                for n in [
                    "SecurityAudit",
                    "AWSCloudTrail_ReadOnlyAccess",
                    "ViewOnlyAccess",
                ] {
                    if r.chance(0.6) {
                        add_aws(&mut managed, self.ctx, n);
                    }
                }
                if managed.is_empty() {
                    add_aws(&mut managed, self.ctx, "AWSCloudTrail_ReadOnlyAccess");
                }
                format!("{team}-audit-{i:06}")
            }
            "s3full" => {
                add_aws(&mut managed, self.ctx, "AmazonS3FullAccess");
                format!("{team}-s3-{i:06}")
            }
            "ec2full" => {
                add_aws(&mut managed, self.ctx, "AmazonEC2FullAccess");
                format!("{team}-ec2-admin-{i:06}")
            }
            "ec2read" => {
                add_aws(&mut managed, self.ctx, "AmazonEC2ReadOnlyAccess");
                add_aws(&mut managed, self.ctx, "AmazonS3ReadOnlyAccess");
                format!("{team}-reader-{i:06}")
            }
            "ec2instance" => {
                trust = svc_trust("ec2.amazonaws.com");
                instance_profile = true;
                add_aws(&mut managed, self.ctx, "AmazonSSMManagedInstanceCore");
                if r.chance(0.5) {
                    add_aws(&mut managed, self.ctx, "AmazonS3ReadOnlyAccess");
                }
                managed.push(C + pool[r.below(pool.len())]);
                format!("{team}-instance-{i:06}")
            }
            "lambda" => {
                trust = svc_trust("lambda.amazonaws.com");
                add_aws(&mut managed, self.ctx, "AWSLambdaBasicExecutionRole");
                if r.chance(0.2) {
                    add_aws(&mut managed, self.ctx, "AWSLambdaVPCAccessExecutionRole");
                }
                if r.chance(0.3) {
                    managed.push(C + pool[r.below(pool.len())]);
                }
                let d = self.ctx.random_doc(r, &acct, 1, 3);
                inline.push((format!("{team}-fn-access"), self.ctx.doc(d)?));
                format!("{team}-fn-{i:06}")
            }
            "ci" => {
                trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Principal": {"Federated": format!("arn:aws:iam::{acct}:oidc-provider/token.actions.githubusercontent.com")},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                                  "StringLike": {"token.actions.githubusercontent.com:sub": format!("repo:examplecorp/{team}-{i}:ref:refs/heads/main")}}}]});
                managed.push(C + ci);
                format!("{team}-ci-deploy-{i:06}")
            }
            "ops-guarded" => {
                managed.push(C + guarded);
                format!("{team}-platform-ops-{i:06}")
            }
            "service-linked" => {
                let (svc, pol, short) = if r.chance(0.5) {
                    ("ecs.amazonaws.com", "AmazonECSServiceRolePolicy", "ECS")
                } else {
                    (
                        "trustedadvisor.amazonaws.com",
                        "AWSTrustedAdvisorServiceRolePolicy",
                        "TrustedAdvisor",
                    )
                };
                trust = svc_trust(svc);
                path = format!("/aws-service-role/{svc}/");
                add_aws(&mut managed, self.ctx, pol);
                format!("AWSServiceRoleFor{short}_{i:06}")
            }
            "data" => {
                trust = svc_trust("glue.amazonaws.com");
                for n in [
                    "AmazonDynamoDBFullAccess",
                    "AmazonSQSFullAccess",
                    "CloudWatchLogsFullAccess",
                ] {
                    if r.chance(0.3) {
                        add_aws(&mut managed, self.ctx, n);
                    }
                }
                managed.push(C + pool[r.below(pool.len())]);
                format!("{team}-data-{i:06}")
            }
            _ => {
                // application role: 1-3 customer policies, sometimes an inline one
                if r.chance(0.5) {
                    trust = svc_trust("ecs-tasks.amazonaws.com");
                }
                for _ in 0..r.range(1, 3) {
                    managed.push(C + pool[r.below(pool.len())]);
                }
                if r.chance(0.4) {
                    let d = self.ctx.random_doc(r, &acct, 1, 4);
                    inline.push((format!("{team}-inline"), self.ctx.doc(d)?));
                }
                format!("{team}-app-{i:06}")
            }
        };
        Ok(Shape {
            name,
            managed,
            inline,
            path,
            trust,
            instance_profile,
        })
    }

    fn role(&mut self, i: usize, pools: &Pools) -> anyhow::Result<Principal> {
        let acct = self.id.clone();
        const C: usize = 10_000;
        let mut r = self.rng(&[4, i as u64]);
        let arch = if i == 0 {
            "org-access"
        } else {
            pick_archetype(&mut r)
        };
        let team = *r.pick(TEAMS);
        let Shape {
            name,
            mut managed,
            mut inline,
            path,
            trust,
            instance_profile,
        } = self.shape(arch, team, i, &mut r, pools)?;
        if r.chance(0.2) && arch != "service-linked" && arch != "org-access" {
            let d = self.ctx.random_doc(&mut r, &acct, 1, 2);
            inline.push((format!("{team}-extra"), self.ctx.doc(d)?));
        }
        managed.sort_unstable();
        managed.dedup();
        let boundary = (arch != "service-linked" && arch != "org-access" && r.chance(0.15))
            .then_some(pools.boundary);
        let mut tags = vec![];
        if r.chance(0.7) {
            tags.push(("team".to_string(), team.to_string()));
        }
        if r.chance(0.4) {
            tags.push((
                "cost-center".to_string(),
                format!("CC-{}", 1000 + r.below(9000)),
            ));
        }
        let too_new = r.chance(0.03);
        let created = if too_new {
            AS_OF - DAY * r.range(1, 80) as i64
        } else {
            AS_OF - DAY * r.range(95, 2400) as i64
        } - r.below(DAY as usize) as i64;
        Ok(Principal {
            kind: Kind::Role,
            name,
            path,
            created,
            inline,
            managed,
            boundary: boundary.map(|b| C + b),
            trust: Some(trust),
            tags,
            groups: vec![],
            instance_profile,
            active: !r.chance(if too_new { 0.5 } else { 0.12 }),
            removed: false,
            generation: 0,
            reroll: false,
        })
    }

    fn policy(&self, m: usize) -> &Managed {
        if m >= 10_000 {
            &self.customer[m - 10_000]
        } else {
            &self.ctx.aws[m]
        }
    }

    /// Services (catalog index → granted action ids) that a principal's identity policies grant.
    fn granted(&self, p: &Principal) -> BTreeMap<String, Vec<ActionId>> {
        let mut allowed = self.ctx.catalog.empty_set();
        let mut denied = self.ctx.catalog.empty_set();
        let mut add = |d: &Doc| {
            allowed.union_with(&d.allowed);
            denied.union_with(&d.denied);
        };
        let visit = |q: &Principal, add: &mut dyn FnMut(&Doc)| {
            for (_, d) in &q.inline {
                add(d);
            }
            for m in &q.managed {
                add(&self.policy(*m).doc);
            }
        };
        visit(p, &mut add);
        for g in &p.groups {
            visit(&self.principals[*g], &mut add);
        }
        allowed.difference_with(&denied);
        let mut out: BTreeMap<String, Vec<ActionId>> = BTreeMap::new();
        for a in allowed.iter() {
            let svc = &self.ctx.catalog.action(a).service;
            out.entry(svc.to_string()).or_default().push(a);
        }
        out
    }

    fn arn(&self, p: &Principal) -> String {
        format!(
            "arn:aws:iam::{}:{}{}{}",
            self.id,
            p.kind.as_str(),
            p.path,
            p.name
        )
    }

    fn pid(&self, p: &Principal) -> String {
        let prefix = match p.kind {
            Kind::Role => "AROA",
            Kind::User => "AIDA",
            Kind::Group => "AGPA",
        };
        let generation = match p.generation {
            0 => String::new(),
            g => format!("#{g}"),
        };
        iam_id(
            prefix,
            self.ctx.seed,
            &format!("{}/{}/{}{generation}", self.id, p.kind.as_str(), p.name),
        )
    }

    /// The last-accessed document of one principal, and its newest use (time, region).
    fn last_accessed(&self, idx: usize, order: usize) -> (Value, Option<(i64, String)>) {
        let p = &self.principals[idx];
        let mut r = match self.ctx.evolve {
            Some(seed) if p.reroll => Rng::new(seed, &[self.index, 6, idx as u64]),
            _ => self.rng(&[6, idx as u64]),
        };
        let granted = self.granted(p);
        let entity = match p.kind {
            Kind::Group => {
                let members: Vec<&Principal> = self
                    .principals
                    .iter()
                    .filter(|u| u.kind == Kind::User && !u.removed && u.groups.contains(&idx))
                    .collect();
                if members.is_empty() {
                    None
                } else {
                    Some(self.arn(members[r.below(members.len())]))
                }
            }
            _ => Some(self.arn(p)),
        };
        // Which services were used, and when.
        let mut used: BTreeMap<String, (i64, String)> = BTreeMap::new();
        if p.active && !granted.is_empty() && entity.is_some() {
            let names: Vec<&String> = granted.keys().collect();
            let popular: Vec<&String> = names
                .iter()
                .copied()
                .filter(|n| POPULAR.contains(&n.as_str()))
                .collect();
            let k = (1 + r.below(3) + if r.chance(0.3) { r.below(5) } else { 0 }).min(names.len());
            let as_of = self.ctx.as_of;
            let age_limit = ((as_of - p.created) / DAY).max(1) as usize;
            for _ in 0..k {
                let s = if !popular.is_empty() && r.chance(0.7) {
                    *r.pick(&popular)
                } else {
                    *r.pick(&names)
                };
                let days = if r.chance(0.65) {
                    r.below(90)
                } else {
                    r.range(90, 399)
                };
                let days = days.min(age_limit - 1);
                let t = minute(as_of - DAY * days as i64 - r.below(DAY as usize) as i64);
                let region = if s == "iam" || s == "sts" {
                    "us-east-1"
                } else {
                    *r.pick(REGIONS)
                };
                let e = used.entry(s.clone()).or_insert((t, region.to_string()));
                if t > e.0 {
                    *e = (t, region.to_string());
                }
            }
        }
        let entity = entity.unwrap_or_default();
        let mut services = Vec::with_capacity(granted.len());
        for (ns, acts) in &granted {
            let mut s = Map::new();
            s.insert("ServiceName".into(), Value::String(service_name(ns)));
            let u = used.get(ns);
            if let Some((t, _)) = u {
                s.insert("LastAuthenticated".into(), Value::String(ts(*t, 0)));
            }
            s.insert("ServiceNamespace".into(), Value::String(ns.clone()));
            match u {
                Some((t, region)) => {
                    s.insert(
                        "LastAuthenticatedEntity".into(),
                        Value::String(entity.clone()),
                    );
                    s.insert(
                        "LastAuthenticatedRegion".into(),
                        Value::String(region.clone()),
                    );
                    s.insert("TotalAuthenticatedEntities".into(), json!(1));
                    if TRACKED.contains(&ns.as_str()) && !(ns == "s3" && r.chance(0.4)) {
                        // A few tracked actions used (the newest at the service's time), the rest listed
                        // with ActionName only.
                        let trackable: Vec<ActionId> = acts
                            .iter()
                            .copied()
                            .filter(|a| {
                                let i = self.ctx.catalog.action(*a);
                                !is_not_observable(&i.service, &i.name)
                            })
                            .collect();
                        if !trackable.is_empty() {
                            let n = r.range(1, 5).min(trackable.len());
                            let mut times: BTreeMap<usize, i64> = BTreeMap::new();
                            for j in 0..n {
                                let at = if j == 0 {
                                    *t
                                } else {
                                    minute(
                                        t - DAY * r.below(300) as i64
                                            - r.below(DAY as usize) as i64,
                                    )
                                };
                                times.entry(r.below(trackable.len())).or_insert(at);
                            }
                            let mut rows = Vec::with_capacity(trackable.len());
                            let mut sorted: Vec<(String, usize)> = trackable
                                .iter()
                                .enumerate()
                                .map(|(j, a)| (self.ctx.catalog.action(*a).name.to_string(), j))
                                .collect();
                            sorted.sort();
                            for (name, j) in sorted {
                                let mut row = Map::new();
                                row.insert("ActionName".into(), Value::String(name));
                                if let Some(at) = times.get(&j) {
                                    row.insert(
                                        "LastAccessedEntity".into(),
                                        Value::String(entity.clone()),
                                    );
                                    row.insert(
                                        "LastAccessedTime".into(),
                                        Value::String(ts(*at, 0)),
                                    );
                                    row.insert(
                                        "LastAccessedRegion".into(),
                                        Value::String(region.clone()),
                                    );
                                }
                                rows.push(Value::Object(row));
                            }
                            s.insert("TrackedActionsLastAccessed".into(), Value::Array(rows));
                        }
                    }
                }
                None => {
                    s.insert("TotalAuthenticatedEntities".into(), json!(0));
                }
            }
            services.push(Value::Object(s));
        }
        let created = self.ctx.as_of + (order as i64 * 137) / 1000;
        let created_ms = (order as u32 * 137) % 1000 + 1;
        let done = created + 2;
        let done_ms = (hash_str(&p.name) % 997) as u32 + 1;
        let newest = used.values().max_by_key(|(t, _)| *t).cloned();
        let doc = json!({
            "JobStatus": "COMPLETED",
            "JobType": "ACTION_LEVEL",
            "JobCreationDate": ts(created, created_ms * 1000),
            "ServicesLastAccessed": services,
            "JobCompletionDate": ts(done, done_ms * 1000),
            "IsTruncated": false,
        });
        (doc, newest)
    }

    fn write(&self, dir: &Path) -> anyhow::Result<u64> {
        let mut bytes = 0u64;
        // Sort: roles, users, groups alphabetical (the order the last-accessed jobs ran).
        let mut order: Vec<usize> = (0..self.principals.len())
            .filter(|i| !self.principals[*i].removed)
            .collect();
        order.sort_by(|a, b| {
            let (pa, pb) = (&self.principals[*a], &self.principals[*b]);
            (pa.kind, pa.name.to_lowercase()).cmp(&(pb.kind, pb.name.to_lowercase()))
        });
        let mut role_last_used: Vec<Option<(i64, String)>> = vec![None; self.principals.len()];
        for kind in ["roles", "users", "groups"] {
            fs::create_dir_all(dir.join("last-accessed").join(kind))?;
        }
        for (n, &i) in order.iter().enumerate() {
            let p = &self.principals[i];
            let (doc, newest) = self.last_accessed(i, n);
            role_last_used[i] = newest;
            let path = dir
                .join("last-accessed")
                .join(format!("{}s", p.kind.as_str()))
                .join(format!("{}.json", p.name));
            bytes += write_json(&path, &doc)?;
        }
        bytes += write_json(
            &dir.join("authorization-details.json"),
            &self.gaad(&order, &role_last_used),
        )?;
        let csv = self.credential_report();
        fs::write(dir.join("credential-report.csv"), &csv)?;
        bytes += csv.len() as u64;
        Ok(bytes)
    }

    fn gaad(&self, order: &[usize], last_used: &[Option<(i64, String)>]) -> Value {
        let (mut users, mut groups, mut roles) = (vec![], vec![], vec![]);
        let mut by_name = order.to_vec();
        by_name.sort_by_key(|i| self.principals[*i].name.to_lowercase());
        let mut attach: BTreeMap<usize, u32> = BTreeMap::new();
        let mut bound: BTreeMap<usize, u32> = BTreeMap::new();
        for &i in &by_name {
            let p = &self.principals[i];
            let kname = match p.kind {
                Kind::Role => "Role",
                Kind::User => "User",
                Kind::Group => "Group",
            };
            let mut e = Map::new();
            e.insert("Path".into(), json!(p.path));
            e.insert(format!("{kname}Name"), json!(p.name));
            e.insert(format!("{kname}Id"), json!(self.pid(p)));
            e.insert("Arn".into(), json!(self.arn(p)));
            e.insert("CreateDate".into(), json!(ts(p.created, 0)));
            if p.kind == Kind::Role {
                e.insert(
                    "AssumeRolePolicyDocument".into(),
                    p.trust.clone().unwrap_or(Value::Null),
                );
                let mut ips = vec![];
                if p.instance_profile {
                    ips.push(json!({
                        "Path": "/", "InstanceProfileName": p.name,
                        "InstanceProfileId": iam_id("AIPA", self.ctx.seed, &format!("{}/ip/{}", self.id, p.name)),
                        "Arn": format!("arn:aws:iam::{}:instance-profile/{}", self.id, p.name),
                        "CreateDate": ts(p.created + 1, 0),
                        "Roles": [{"Path": p.path, "RoleName": p.name, "RoleId": self.pid(p), "Arn": self.arn(p),
                                   "CreateDate": ts(p.created, 0), "AssumeRolePolicyDocument": p.trust.clone()}]
                    }));
                }
                e.insert("InstanceProfileList".into(), Value::Array(ips));
            }
            let inline: Vec<Value> = p
                .inline
                .iter()
                .map(|(n, d)| json!({"PolicyName": n, "PolicyDocument": d.json}))
                .collect();
            if !inline.is_empty() || p.kind != Kind::User {
                e.insert(format!("{kname}PolicyList"), Value::Array(inline));
            }
            if p.kind == Kind::User {
                let gl: Vec<Value> = p
                    .groups
                    .iter()
                    .map(|g| json!(self.principals[*g].name))
                    .collect();
                e.insert("GroupList".into(), Value::Array(gl));
            }
            let am: Vec<Value> = p
                .managed
                .iter()
                .map(|m| {
                    *attach.entry(*m).or_default() += 1;
                    let pol = self.policy(*m);
                    json!({"PolicyName": pol.name, "PolicyArn": pol.arn})
                })
                .collect();
            e.insert("AttachedManagedPolicies".into(), Value::Array(am));
            if let Some(b) = p.boundary {
                *bound.entry(b).or_default() += 1;
                e.insert(
                    "PermissionsBoundary".into(),
                    json!({"PermissionsBoundaryType": "PermissionsBoundaryPolicy",
                           "PermissionsBoundaryArn": self.policy(b).arn}),
                );
            }
            if p.kind != Kind::Group {
                let tags: Vec<Value> = p
                    .tags
                    .iter()
                    .map(|(k, v)| json!({"Key": k, "Value": v}))
                    .collect();
                e.insert("Tags".into(), Value::Array(tags));
            }
            if p.kind == Kind::Role {
                let lu = match &last_used[i] {
                    Some((t, region)) => {
                        json!({"LastUsedDate": ts(*t + (hash_str(&p.name) % 60) as i64, 0), "Region": region})
                    }
                    None => json!({}),
                };
                e.insert("RoleLastUsed".into(), lu);
            }
            match p.kind {
                Kind::User => users.push(Value::Object(e)),
                Kind::Group => groups.push(Value::Object(e)),
                Kind::Role => roles.push(Value::Object(e)),
            }
        }
        // Policies: every customer policy, and the AWS managed ones attached in the account.
        let mut refs: Vec<usize> = (0..self.customer.len()).map(|j| 10_000 + j).collect();
        refs.extend(
            attach
                .keys()
                .chain(bound.keys())
                .copied()
                .filter(|m| *m < 10_000),
        );
        refs.sort_unstable();
        refs.dedup();
        refs.sort_by_key(|m| self.policy(*m).arn.to_lowercase());
        let policies: Vec<Value> = refs
            .iter()
            .map(|m| {
                let pol = self.policy(*m);
                let default = &pol.versions[0];
                let versions: Vec<Value> = pol
                    .versions
                    .iter()
                    .map(|(v, c, d)| json!({"Document": d, "VersionId": v, "IsDefaultVersion": v == &default.0, "CreateDate": c}))
                    .collect();
                json!({
                    "PolicyName": pol.name, "PolicyId": pol.id, "Arn": pol.arn, "Path": pol.path,
                    "DefaultVersionId": default.0, "AttachmentCount": attach.get(m).copied().unwrap_or(0),
                    "PermissionsBoundaryUsageCount": bound.get(m).copied().unwrap_or(0), "IsAttachable": true,
                    "CreateDate": if pol.aws { pol.created.clone() } else { pol.versions.last().map(|v| v.1.clone()).unwrap_or_default() },
                    "UpdateDate": default.1, "PolicyVersionList": versions,
                })
            })
            .collect();
        json!({"UserDetailList": users, "GroupDetailList": groups, "RoleDetailList": roles, "Policies": policies})
    }

    fn credential_report(&self) -> String {
        let mut r = self.rng(&[7]);
        let mut out = String::with_capacity(256 * (self.principals.len() + 2));
        out.push_str(CRED_HEADER);
        out.push('\n');
        let root_created = AS_OF - DAY * 2500;
        out.push_str(&format!(
            "<root_account>,arn:aws:iam::{}:root,{},not_supported,{},not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n",
            self.id,
            ts(root_created, 0),
            ts(self.ctx.as_of - DAY * r.range(1, 200) as i64, 0),
        ));
        let mut users: Vec<&Principal> = self
            .principals
            .iter()
            .filter(|p| p.kind == Kind::User)
            .collect();
        users.sort_by(|a, b| a.name.cmp(&b.name));
        for u in users {
            let b = |v: bool| if v { "true" } else { "false" };
            let mut row = vec![u.name.clone(), self.arn(u), ts(u.created, 0)];
            let console = r.chance(0.6);
            if console {
                let used = if u.active {
                    ts(
                        self.ctx.as_of - DAY * r.below(200) as i64 - r.below(86_400) as i64,
                        0,
                    )
                } else {
                    "no_information".into()
                };
                // Changed in its first month, but not after the report (as-of) time.
                let changed = (u.created + DAY * r.below(30) as i64).min(self.ctx.as_of);
                row.extend([b(true).into(), used, ts(changed, 0), "N/A".into()]);
            } else {
                row.extend([b(false).into(), "N/A".into(), "N/A".into(), "N/A".into()]);
            }
            row.push(b(console && r.chance(0.7)).into());
            for k in 0..2 {
                if (k == 0 && r.chance(0.7)) || (k == 1 && r.chance(0.1)) {
                    let rotated = u.created
                        + DAY
                            * r.below(((self.ctx.as_of - u.created) / DAY).max(1) as usize) as i64;
                    row.extend([b(true).into(), ts(rotated, 0)]);
                    if u.active && r.chance(0.8) {
                        let used =
                            (self.ctx.as_of - DAY * r.below(150) as i64 - r.below(86_400) as i64)
                                .max(rotated);
                        let svc = *r.pick(POPULAR);
                        let region = if svc == "s3" { "N/A" } else { r.pick(REGIONS) };
                        row.extend([ts(used, 0), region.into(), svc.into()]);
                    } else {
                        row.extend(["N/A".into(), "N/A".into(), "N/A".into()]);
                    }
                } else {
                    row.extend([
                        b(false).into(),
                        "N/A".into(),
                        "N/A".into(),
                        "N/A".into(),
                        "N/A".into(),
                    ]);
                }
            }
            row.extend([b(false).into(), "N/A".into(), b(false).into(), "N/A".into()]);
            // A removed user's draws are made all the same, so the others' rows do not move.
            if !u.removed {
                out.push_str(&row.join(","));
                out.push('\n');
            }
        }
        out
    }
}

/// The AWS managed policy of permission set `i` (sets cycle through these).
const SET_POLICIES: &[&str] = &[
    "ReadOnlyAccess",
    "PowerUserAccess",
    "ViewOnlyAccess",
    "SecurityAudit",
    "AdministratorAccess",
    "AmazonS3ReadOnlyAccess",
    "AmazonEC2ReadOnlyAccess",
    "AWSLambda_ReadOnlyAccess",
];

/// Permission set `i`: its name and id (`ps-` and 16 hex digits).
fn permission_set(i: usize) -> (String, String) {
    let policy = SET_POLICIES[i % SET_POLICIES.len()];
    let short: String = policy
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(24)
        .collect();
    (
        format!("{short}-{i:03}"),
        format!("ps-{:016x}", mix(0x5e7 + i as u64)),
    )
}

impl Account<'_, '_> {
    /// One role per permission set, as Identity Center provisions it: its set's AWS managed
    /// policy, a SAML trust, the reserved path; used like any role.
    fn sso_roles(&mut self, sets: usize) {
        for i in 0..sets {
            let (name, _) = permission_set(i);
            let policy = SET_POLICIES[i % SET_POLICIES.len()];
            let mut r = self.rng(&[9, i as u64]);
            let hash = mix(hash_str(&format!("{}/{name}", self.id)));
            self.principals.push(Principal {
                kind: Kind::Role,
                name: format!("AWSReservedSSO_{name}_{hash:016x}"),
                path: "/aws-reserved/sso.amazonaws.com/".into(),
                created: AS_OF - DAY * r.range(95, 700) as i64 - r.below(DAY as usize) as i64,
                inline: vec![],
                managed: self.ctx.aws_index(policy).into_iter().collect(),
                boundary: None,
                trust: Some(json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Principal": {"Federated": format!("arn:aws:iam::{}:saml-provider/AWSSSO_{hash:016x}_DO_NOT_DELETE", self.id)},
                    "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"],
                    "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}}]})),
                tags: vec![],
                groups: vec![],
                instance_profile: false,
                active: !r.chance(0.3),
                removed: false,
                generation: 0,
                reroll: false,
            });
        }
    }
}

/// `organization/`: one root holding every account (the first is the management account), and
/// one Identity Center instance with `sets` permission sets provisioned to every account.
fn write_organization(dir: &Path, accounts: &[String], sets: usize) -> anyhow::Result<u64> {
    let (org, root, ins) = ("o-synth00001", "r-synt", "ssoins-5e7000000000cafe");
    let mgmt = &accounts[0];
    let mut bytes = 0;
    for sub in ["accounts", "ous", "sso"] {
        fs::create_dir_all(dir.join(sub))?;
    }
    bytes += write_json(
        &dir.join("describe-organization.json"),
        &json!({"Organization": {"Id": org,
            "Arn": format!("arn:aws:organizations::{mgmt}:organization/{org}"),
            "FeatureSet": "ALL",
            "MasterAccountArn": format!("arn:aws:organizations::{mgmt}:account/{org}/{mgmt}"),
            "MasterAccountId": mgmt,
            "MasterAccountEmail": "aws-management@example.com",
            "AvailablePolicyTypes": []}}),
    )?;
    bytes += write_json(
        &dir.join("list-roots.json"),
        &json!({"Roots": [{"Id": root,
            "Arn": format!("arn:aws:organizations::{mgmt}:root/{org}/{root}"),
            "Name": "Root", "PolicyTypes": []}]}),
    )?;
    let listed: Vec<Value> = accounts
        .iter()
        .map(|a| {
            json!({"Id": a,
                "Arn": format!("arn:aws:organizations::{mgmt}:account/{org}/{a}"),
                "Email": format!("aws-{a}@example.com"),
                "Name": format!("synth-{a}"),
                "Status": "ACTIVE",
                "State": "ACTIVE",
                "JoinedMethod": "CREATED",
                "JoinedTimestamp": ts(AS_OF - 1000 * DAY, 0)})
        })
        .collect();
    bytes += write_json(
        &dir.join("list-accounts.json"),
        &json!({"Accounts": listed}),
    )?;
    bytes += write_json(
        &dir.join("accounts").join(format!("{root}.json")),
        &json!({"Accounts": listed}),
    )?;
    bytes += write_json(
        &dir.join("ous").join(format!("{root}.json")),
        &json!({"OrganizationalUnits": []}),
    )?;
    bytes += write_json(
        &dir.join("sso").join("list-instances.json"),
        &json!({"Instances": [{"InstanceArn": format!("arn:aws:sso:::instance/{ins}"),
            "IdentityStoreId": "d-5e70000000",
            "OwnerAccountId": mgmt,
            "CreatedDate": ts(AS_OF - 900 * DAY, 0),
            "Status": "ACTIVE"}]}),
    )?;
    let arn = |id: &str| format!("arn:aws:sso:::permissionSet/{ins}/{id}");
    let list: Vec<String> = (0..sets).map(|i| arn(&permission_set(i).1)).collect();
    let sso = dir.join("sso").join(ins);
    fs::create_dir_all(&sso)?;
    bytes += write_json(
        &sso.join("list-permission-sets.json"),
        &json!({"PermissionSets": list}),
    )?;
    for i in 0..sets {
        let (name, id) = permission_set(i);
        let policy = SET_POLICIES[i % SET_POLICIES.len()];
        let ps = sso.join(&id);
        fs::create_dir_all(&ps)?;
        let files = [
            (
                "describe-permission-set.json",
                json!({"PermissionSet": {"Name": name, "PermissionSetArn": arn(&id),
                    "CreatedDate": ts(AS_OF - 800 * DAY, 0), "SessionDuration": "PT8H"}}),
            ),
            ("inline-policy.json", json!({"InlinePolicy": ""})),
            (
                "managed-policies.json",
                json!({"AttachedManagedPolicies": [{"Name": policy,
                    "Arn": format!("arn:aws:iam::aws:policy/{policy}")}]}),
            ),
            (
                "customer-managed-policies.json",
                json!({"CustomerManagedPolicyReferences": []}),
            ),
            ("accounts.json", json!({"AccountIds": accounts})),
        ];
        for (file, v) in files {
            bytes += write_json(&ps.join(file), &v)?;
        }
    }
    Ok(bytes)
}

fn write_json(path: &Path, v: &Value) -> anyhow::Result<u64> {
    let mut buf = Vec::with_capacity(4096);
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    serde::Serialize::serialize(v, &mut ser)?;
    buf.push(b'\n');
    let mut f = std::io::BufWriter::new(
        fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
    );
    f.write_all(&buf)?;
    f.flush()?;
    Ok(buf.len() as u64)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let started = std::time::Instant::now();
    if args.accounts == 0 || args.roles_per_account == 0 {
        bail!("--accounts and --roles-per-account must be at least 1");
    }
    if args.out.exists() && fs::read_dir(&args.out)?.next().is_some() {
        bail!(
            "{} is not empty; give a new or empty folder",
            args.out.display()
        );
    }
    let catalog = Catalog::embedded();
    let services: Vec<&'static str> = {
        let mut v: Vec<&'static str> = COMMON_SERVICES
            .iter()
            .copied()
            .filter(|s| catalog.service_actions(s).len() > 0)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let mut ctx = Ctx {
        seed: args.seed,
        as_of: AS_OF
            + if args.evolve.is_some() {
                evolve::QUARTER
            } else {
                0
            },
        evolve: args.evolve,
        catalog,
        expander: Expander::new(catalog),
        services,
        aws: Vec::new(),
    };
    let source = args.managed_policies.clone().unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data/sources/aws-managed-policies.json")
    });
    load_aws_managed(&mut ctx, &source)?;
    let users = args
        .users_per_account
        .unwrap_or((args.roles_per_account / 10).max(2));
    let mut total = 0u64;
    let mut counts = (0usize, 0usize, 0usize);
    let mut ids = Vec::with_capacity(args.accounts);
    for a in 0..args.accounts {
        let id = format!(
            "{:012}",
            100_000_000_000u64 + (args.seed % 1000) * 1_000_000 + a as u64 + 1
        );
        let mut acct = Account {
            ctx: &mut ctx,
            id: id.clone(),
            index: a as u64,
            customer: Vec::new(),
            principals: Vec::new(),
            pools: None,
        };
        acct.build(args.roles_per_account, users)?;
        if let Some(seed) = args.evolve {
            acct.evolve(seed, args.roles_per_account)?;
        }
        acct.sso_roles(args.permission_sets);
        for p in acct.principals.iter().filter(|p| !p.removed) {
            match p.kind {
                Kind::Role => counts.0 += 1,
                Kind::User => counts.1 += 1,
                Kind::Group => counts.2 += 1,
            }
        }
        let dir = args.out.join(&id);
        fs::create_dir_all(&dir)?;
        total += acct.write(&dir)?;
        ids.push(id);
    }
    if args.permission_sets > 0 {
        total += write_organization(&args.out.join("organization"), &ids, args.permission_sets)?;
    }
    eprintln!(
        "synth-export: wrote {} account(s), {} roles, {} users, {} groups, {} bytes to {} in {:.1} s (AWS managed policies: {})",
        args.accounts,
        counts.0,
        counts.1,
        counts.2,
        total,
        args.out.display(),
        started.elapsed().as_secs_f64(),
        ctx.aws
            .iter()
            .map(|m| m.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}
