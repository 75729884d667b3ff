#!/usr/bin/env python3
"""Write sample-data/: two quarters of a small, made-up AWS organisation, as AWS CLI exports.

    python3 scripts/make-sample-data.py            # rewrites sample-data/2026-q3 and sample-data/2026-q4
    python3 scripts/make-sample-data.py --out DIR  # writes DIR/2026-q3 and DIR/2026-q4 instead (needs DIR/sources/)
    python3 scripts/make-sample-data.py --check    # fresh run must give identical bytes; validate; prove the story

Deterministic (no clock, no randomness, stdlib only): rerunning gives identical bytes.

Inputs
- data/iam-actions.tsv: the action catalog. It decides which services and actions each policy grants,
  so every last-accessed file lists exactly the services its principal's policies grant, as AWS does.
- The documents of the AWS managed policies the sample attaches. They are read from
  sample-data/sources/aws-managed-policies.json (a small subset committed with the sample). With
  --managed-policies FILE (for example ../shared/data/aws-managed-policies.json, a
  {name: {VersionId, CreateDate, Document}} dump of AWS's published policies) that subset is refreshed first.

Shapes follow the AWS CLI exactly (see docs/export-format.md): key order of the IAM API model,
4-space indent, CLI v2 timestamps (`+00:00`, microseconds on job dates) for account 111111111111 and
CLI v1 wire timestamps (`Z`, milliseconds on job dates, minute precision on LastAuthenticated) for
222222222222 and 333333333333. Each quarter also gets organization/ (the organisation part of the export format:
OU tree, SCPs and RCPs with their targets, IAM Identity Center permission sets), as the management account's AWS CLI v2
prints it; the AWSReservedSSO_* roles of the permission sets are roles of the accounts' timelines like any other.
The story each principal tells is in sample-data/README.md.

Everything happens on an absolute timeline: each principal has a list of API calls (events); a
quarter's export is a snapshot of that timeline at its job times, so q3 and q4 agree with each other.
"""
import argparse
import base64
import csv
import filecmp
import hashlib
import io
import json
import os
import re
import shutil
import sys
import tempfile
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
UTC = timezone.utc

# As-of of each quarter: the newest JobCompletionDate is a minute or two after this.
Q4 = datetime(2026, 11, 20, 9, 12, 0, tzinfo=UTC)
Q3 = Q4 - timedelta(days=91)  # 2026-08-21T09:12Z
QUARTERS = {"2026-q3": Q3, "2026-q4": Q4}
TRACKING_DAYS = 400

ACCOUNTS = {
    "111111111111": {"alias": "examplecorp-prod", "style": "v2", "manifest": True},
    "222222222222": {"alias": "examplecorp-dev", "style": "v1", "manifest": False},
    "333333333333": {"alias": "examplecorp-hackathon", "style": "v1", "manifest": False},
}
MGMT_ACCOUNT = "999999999999"  # the organisation's management account; not part of the sample

AWS_MANAGED = {
    # name: (path, policy CreateDate). UpdateDate is the default version's CreateDate from the source dump.
    "AdministratorAccess": ("/", "2015-02-06T18:39:46Z"),
    "AmazonEC2FullAccess": ("/", "2015-02-06T18:40:15Z"),
    "AmazonEC2ReadOnlyAccess": ("/", "2015-02-06T18:40:17Z"),
    "AmazonS3FullAccess": ("/", "2015-02-06T18:40:58Z"),
    "AmazonS3ReadOnlyAccess": ("/", "2015-02-06T18:40:59Z"),
    "ReadOnlyAccess": ("/", "2015-02-06T18:39:48Z"),
    "AWSLambdaBasicExecutionRole": ("/service-role/", "2015-04-09T15:03:43Z"),
    "AWSLambda_ReadOnlyAccess": ("/", "2020-11-17T21:59:16Z"),
    "AWSCloudTrail_ReadOnlyAccess": ("/", "2022-06-14T17:19:05Z"),
    "IAMUserChangePassword": ("/", "2016-11-15T23:18:55Z"),
    "AmazonECSServiceRolePolicy": ("/aws-service-role/", "2017-10-14T01:18:58Z"),
    "AWSTrustedAdvisorServiceRolePolicy": ("/aws-service-role/", "2018-02-22T21:24:25Z"),
}

# Services whose management actions IAM tracks at action level (documented since 2020/2021).
TRACKED_SERVICES = {"ec2", "iam", "lambda", "s3"}
S3_DATA_RE = re.compile(r"Object|MultipartUpload|^ListBucket", re.I)

SERVICE_NAMES = {
    "access-analyzer": "IAM Access Analyzer", "account": "AWS Account Management", "acm": "AWS Certificate Manager",
    "apigateway": "Amazon API Gateway", "athena": "Amazon Athena", "autoscaling": "Amazon EC2 Auto Scaling",
    "aws-portal": "AWS Billing", "backup": "AWS Backup", "budgets": "AWS Budget Service", "ce": "AWS Cost Explorer Service",
    "cloudformation": "AWS CloudFormation", "cloudfront": "Amazon CloudFront", "cloudtrail": "AWS CloudTrail",
    "cloudwatch": "Amazon CloudWatch", "codebuild": "AWS CodeBuild", "codecommit": "AWS CodeCommit",
    "codedeploy": "AWS CodeDeploy", "codepipeline": "AWS CodePipeline", "cognito-idp": "Amazon Cognito User Pools",
    "config": "AWS Config", "dynamodb": "Amazon DynamoDB", "ec2": "Amazon EC2", "ecr": "Amazon Elastic Container Registry",
    "ecs": "Amazon Elastic Container Service", "eks": "Amazon Elastic Kubernetes Service", "elasticache": "Amazon ElastiCache",
    "elasticloadbalancing": "Elastic Load Balancing", "es": "Amazon OpenSearch Service", "events": "Amazon EventBridge",
    "firehose": "Amazon Kinesis Firehose", "glue": "AWS Glue", "guardduty": "Amazon GuardDuty",
    "iam": "AWS Identity and Access Management", "kinesis": "Amazon Kinesis", "kms": "AWS Key Management Service",
    "lambda": "AWS Lambda", "logs": "Amazon CloudWatch Logs", "organizations": "AWS Organizations",
    "rds": "Amazon RDS", "redshift": "Amazon Redshift", "route53": "Amazon Route 53", "s3": "Amazon S3",
    "s3-object-lambda": "Amazon S3 Object Lambda", "sagemaker": "Amazon SageMaker", "secretsmanager": "AWS Secrets Manager",
    "securityhub": "AWS Security Hub", "sns": "Amazon SNS", "sqs": "Amazon SQS", "ssm": "AWS Systems Manager",
    "states": "AWS Step Functions", "sts": "AWS Security Token Service", "support": "AWS Support",
    "tag": "Amazon Resource Group Tagging API", "trustedadvisor": "AWS Trusted Advisor", "xray": "AWS X-Ray",
}

CRED_HEADER = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,"
    "mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,"
    "access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
    "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,"
    "cert_2_last_rotated"
).split(",")


# ---------------------------------------------------------------------------------------------- time

def ago(days, hhmm="10:00", sec=0):
    """A moment `days` calendar days before the q4 as-of date, at hh:mm:sec UTC."""
    h, m = (int(x) for x in hhmm.split(":"))
    d = (Q4 - timedelta(days=days)).date()
    return datetime(d.year, d.month, d.day, h, m, sec, tzinfo=UTC)


def iso(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def fmt(dt, style, precision="s"):
    """Timestamp as the given CLI prints it. precision: 'm' minute (:00), 's' second, 'ms' millisecond."""
    if precision == "m":
        dt = dt.replace(second=0, microsecond=0)
    elif precision == "s":
        dt = dt.replace(microsecond=0)
    if style == "v1":  # wire format, printed verbatim
        if precision == "ms":
            return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
        return dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return dt.isoformat()  # v2: datetime.isoformat(), 6-digit fraction or none


def cred_date(dt):
    return dt.replace(microsecond=0).isoformat()


def stable_int(*parts):
    return int.from_bytes(hashlib.sha256("/".join(parts).encode()).digest()[:8], "big")


def iam_id(prefix, *parts):
    raw = base64.b32encode(hashlib.sha256("/".join(parts).encode()).digest()).decode()
    return prefix + raw[:17]


def job_id(*parts):
    h = hashlib.sha256("/".join(parts).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


# ---------------------------------------------------------------------------------------------- catalog

def load_catalog():
    actions = {}
    with open(os.path.join(REPO, "data", "iam-actions.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or line.startswith("service\t"):
                continue
            svc, act = line.rstrip("\n").split("\t")[:2]
            actions.setdefault(svc, []).append(act)
    return actions


CATALOG = load_catalog()
ALL_ACTIONS = [(s, a) for s in sorted(CATALOG) for a in CATALOG[s]]


def pattern_re(p):
    return re.compile("^" + "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in p) + "$", re.I)


def matches(patterns):
    if isinstance(patterns, str):
        patterns = [patterns]
    out = set()
    for p in patterns:
        if p == "*":
            out.update(ALL_ACTIONS)
            continue
        svc, _, act = p.partition(":")
        rx = pattern_re(act)
        out.update((s, a) for s in CATALOG if s.lower() == svc.lower() for a in CATALOG[s] if rx.match(a))
    return out


def granted(documents):
    """{service: set(actions)} allowed by the documents, less unconditional Deny on Resource "*"."""
    allow, deny = set(), set()
    for doc in documents:
        stmts = doc["Statement"]
        for st in [stmts] if isinstance(stmts, dict) else stmts:
            if "Action" in st:
                acts = matches(st["Action"])
            else:
                acts = set(ALL_ACTIONS) - matches(st["NotAction"])
            if st["Effect"] == "Allow":
                allow |= acts
            elif "Condition" not in st and st.get("Resource") in ("*", ["*"]):
                deny |= acts
    out = {}
    for s, a in allow - deny:
        out.setdefault(s, set()).add(a)
    return out


def trackable(svc, act):
    if svc not in TRACKED_SERVICES:
        return False
    if svc == "iam" and act == "PassRole":
        return False
    if svc == "s3" and S3_DATA_RE.search(act):
        return False
    return True


def service_name(ns):
    return SERVICE_NAMES.get(ns) or "AWS " + " ".join(w.upper() if len(w) <= 3 else w.capitalize() for w in ns.split("-"))


# ---------------------------------------------------------------------------------------------- policies

def doc(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(actions, resource="*", **extra):
    st = {"Effect": "Allow", "Action": actions, "Resource": resource}
    st.update(extra)
    return st


STMT_ORDER = ["Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"]


def author_order(document):
    """AWS returns documents as authored: Version first, then Statement; statements Sid, Effect, Action…"""
    out = {k: document[k] for k in ("Version", "Id") if k in document}
    stmts = document["Statement"]
    one = isinstance(stmts, dict)
    fixed = []
    for st in [stmts] if one else stmts:
        keys = [k for k in STMT_ORDER if k in st] + sorted(k for k in st if k not in STMT_ORDER)
        fixed.append({k: st[k] for k in keys})
    out["Statement"] = fixed[0] if one else fixed
    for k in document:
        out.setdefault(k, document[k])
    return out


def trust(principal, action="sts:AssumeRole", **cond):
    st = {"Effect": "Allow", "Principal": principal, "Action": action}
    if cond:
        st["Condition"] = cond
    return {"Version": "2012-10-17", "Statement": [st]}


def service_trust(svc):
    return trust({"Service": svc})


# ---------------------------------------------------------------------------------------------- the organisation

class P:
    """A role, user or group as it exists in one quarter's export."""

    def __init__(self, kind, name, created, **kw):
        self.kind, self.name, self.created = kind, name, created
        self.path = kw.get("path", "/")
        self.inline = kw.get("inline", [])  # [(name, document)]
        self.managed = kw.get("managed", [])  # [policy name]; AWS-managed if in AWS_MANAGED, else customer
        self.tags = kw.get("tags", [])
        self.trust = kw.get("trust")
        self.boundary = kw.get("boundary")
        self.groups = kw.get("groups", [])
        self.events = kw.get("events", [])  # [(when, service, action, region, via)]
        self.instance_profile = kw.get("instance_profile")
        self.incarnation = kw.get("incarnation", "1")
        self.no_last_accessed = kw.get("no_last_accessed")  # reason, for the manifest


def ev(when, action, region="eu-west-1", via="key1"):
    svc, act = action.split(":")
    assert act in CATALOG.get(svc, []), f"unknown action in sample events: {action}"
    return (when, svc, act, region, via)


# ---------------------------------------------------------------------------------------------- Organizations, Identity Center
# The organisation part (docs/export-format.md, "The organisation part"): the OU tree, SCPs and RCPs with their
# targets, and the IAM Identity Center permission sets. Written in AWS CLI v2 style (the management account's
# export), the same in both quarters except where the story says otherwise. No manifest (hand-made style).

ORG_ID = "o-exmp1234ab"
ROOT_ID = "r-exmp"
OUS = {"ou-exmp-workload1": "Workloads", "ou-exmp-sandbox1": "Sandbox"}  # both directly under the root
ORG_ACCOUNTS = {
    # id: name, email, parent, JoinedMethod, JoinedTimestamp, closed (Status/State SUSPENDED from then on; AWS keeps
    # a closed account listed, in its OU, for 90 days after closing).
    MGMT_ACCOUNT: dict(name="examplecorp-management", email="aws-management@example.com", parent=ROOT_ID,
                       joined=("INVITED", datetime(2020, 12, 14, 10, 21, 37, 118000, tzinfo=UTC)), closed=None),
    "111111111111": dict(name="examplecorp-prod", email="aws-prod@example.com", parent="ou-exmp-workload1",
                         joined=("CREATED", datetime(2021, 1, 4, 8, 0, 3, 402000, tzinfo=UTC)), closed=None),
    "222222222222": dict(name="examplecorp-dev", email="aws-dev@example.com", parent="ou-exmp-sandbox1",
                         joined=("CREATED", datetime(2023, 1, 9, 9, 58, 4, 877000, tzinfo=UTC)), closed=None),
    "333333333333": dict(name="examplecorp-hackathon", email="aws-hackathon@example.com", parent="ou-exmp-sandbox1",
                         joined=("CREATED", datetime(2026, 2, 2, 8, 57, 12, 305000, tzinfo=UTC)),
                         closed=datetime(2026, 9, 30, 16, 2, 0, tzinfo=UTC)),
}


def org_policies():
    """[(type, id, name, description, aws_managed, content string, targets)]; targets "all" = root, every OU, every account."""
    def content(*statements):
        return json.dumps(doc(*statements), indent=4)
    def pid(name):
        return "p-" + hashlib.sha256(f"{ORG_ID}/policy/{name}".encode()).hexdigest()[:8]
    scp, rcp = "SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"
    return [
        (scp, "p-FullAWSAccess", "FullAWSAccess", "Allows access to every operation", True,
         '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}', "all"),
        (scp, pid("DenyLeaveOrganization"), "DenyLeaveOrganization", "Member accounts cannot leave the organisation", False,
         content({"Sid": "DenyLeaveOrganization", "Effect": "Deny", "Action": "organizations:LeaveOrganization",
                  "Resource": "*"}), [ROOT_ID]),
        (scp, pid("ProtectSecurityTooling"), "ProtectSecurityTooling",
         "Only BreakGlassAdmin may stop or delete CloudTrail trails and GuardDuty detectors", False,
         content({"Sid": "ProtectSecurityTooling", "Effect": "Deny",
                  "Action": ["cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "guardduty:DeleteDetector"],
                  "Resource": "*",
                  "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/BreakGlassAdmin"}}}), [ROOT_ID]),
        # attached on 2026-07-01, after the hackathon (hackathon-2026 used SageMaker in June); targets carry no dates
        (scp, pid("DenySageMaker"), "DenySageMaker", "No SageMaker in sandbox accounts", False,
         content({"Sid": "DenySageMaker", "Effect": "Deny", "Action": "sagemaker:*", "Resource": "*"}),
         ["ou-exmp-sandbox1"]),
        (rcp, "p-RCPFullAWSAccess", "RCPFullAWSAccess", "Allows access to every operation", True,
         '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}', "all"),
        (rcp, pid("DenyS3WithoutTLS"), "DenyS3WithoutTLS", "S3 requests must use TLS", False,
         content({"Sid": "EnforceSecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
                  "Condition": {"Bool": {"aws:SecureTransport": "false"}}}), [ROOT_ID]),
    ]


SSO_INSTANCE_ID = "ssoins-7223a1b2c3d4e5f6"
SSO_INSTANCE_ARN = f"arn:aws:sso:::instance/{SSO_INSTANCE_ID}"
SSO_IDENTITY_STORE = "d-9067example"
SSO_REGION = "eu-west-1"  # the instance's Region: it is part of the roles' path
SSO_CREATED = datetime(2025, 2, 10, 8, 41, 12, 604000, tzinfo=UTC)

DEVELOPER_INLINE = {"Version": "2012-10-17", "Statement": [
    {"Sid": "DeveloperServices", "Effect": "Allow",
     "Action": ["lambda:*", "logs:*", "dynamodb:*", "s3:*", "cloudwatch:*", "sqs:*"], "Resource": "*"}]}
DEVELOPER_EXTRAS = doc(allow(["events:PutEvents", "states:StartExecution"]))
# When each account's customer managed policy developer-extras was created (before the permission set referenced it).
DEVELOPER_EXTRAS_CREATED = {"111111111111": iso("2025-05-12T09:58:40Z"), "222222222222": iso("2025-05-12T10:01:12Z"),
                            "333333333333": iso("2026-02-03T09:40:05Z")}


def ps_arn(name):
    return f"arn:aws:sso:::permissionSet/{SSO_INSTANCE_ID}/ps-" + hashlib.sha256(f"{SSO_INSTANCE_ID}/{name}".encode()).hexdigest()[:16]


def sso_role_name(account, ps_name):
    return f"AWSReservedSSO_{ps_name}_" + hashlib.sha256(f"{SSO_INSTANCE_ID}/{account}/{ps_name}".encode()).hexdigest()[:16]


def permission_sets(q):
    """The permission sets in creation order (as list-permission-sets prints them) as they are in quarter q.
    accounts: {account: when its role was provisioned (the role's CreateDate)}."""
    return [
        dict(name="AdministratorAccess", description="Full administrator access (platform team)", session="PT1H",
             created=datetime(2025, 2, 10, 8, 52, 3, 118000, tzinfo=UTC), inline=None,
             managed=["AdministratorAccess"], customer=[],
             accounts={"111111111111": iso("2025-02-10T09:03:41Z"), "222222222222": iso("2025-02-10T09:03:44Z")}),
        dict(name="ReadOnly", description="Read-only access to every service", session="PT8H",
             created=datetime(2025, 2, 10, 8, 55, 27, 940000, tzinfo=UTC), inline=None,
             managed=["ReadOnlyAccess"], customer=[],
             accounts={"111111111111": iso("2025-02-10T09:04:02Z"), "222222222222": iso("2025-02-10T09:04:05Z")}),
        dict(name="Developer", description="Serverless development: Lambda, DynamoDB, S3, SQS, logs and metrics",
             session="PT8H", created=datetime(2025, 5, 12, 10, 12, 48, 231000, tzinfo=UTC), inline=DEVELOPER_INLINE,
             # AmazonS3ReadOnlyAccess was detached on 2026-10-02 (between the quarters) and the set re-provisioned.
             managed=["AmazonEC2ReadOnlyAccess"] + (["AmazonS3ReadOnlyAccess"] if q == "2026-q3" else []),
             customer=["developer-extras"],
             accounts={"111111111111": iso("2025-05-12T10:15:09Z"), "222222222222": iso("2025-05-12T10:15:13Z"),
                       **({"333333333333": iso("2026-02-03T10:00:26Z")} if q == "2026-q3" else {})}),
    ]


# What each Identity Center role did (the same absolute timeline for both quarters).
SSO_EVENTS = {
    ("111111111111", "AdministratorAccess"): [
        ev(ago(30, "14:01", 40), "organizations:DescribeOrganization", "us-east-1"),
        ev(ago(30, "14:02", 11), "iam:CreateRole", "us-east-1"),
        ev(ago(150, "09:20", 3), "iam:ListRoles", "us-east-1")],
    ("222222222222", "AdministratorAccess"): [  # the q3 use keeps it out of q3's unused roles
        ev(ago(40, "11:30", 0), "sts:AssumeRole"), ev(ago(130, "08:45", 12), "sts:AssumeRole")],
    ("111111111111", "ReadOnly"): [
        ev(ago(15, "09:40", 2), "cloudtrail:LookupEvents"),
        ev(ago(15, "09:41", 30), "iam:ListRoles", "us-east-1"),
        ev(ago(15, "09:42", 5), "iam:GetRole", "us-east-1"),
        ev(ago(105, "13:10", 0), "iam:ListRoles", "us-east-1")],
    ("222222222222", "ReadOnly"): [  # no last-accessed file; the role's RoleLastUsed still shows it is used
        ev(ago(33, "16:05", 40), "ec2:DescribeInstances"), ev(ago(120, "16:00", 0), "ec2:DescribeInstances")],
    ("111111111111", "Developer"): [
        ev(ago(3, "11:47", 0), "logs:FilterLogEvents"),
        ev(ago(5, "15:20", 31), "lambda:UpdateFunctionCode"),
        ev(ago(6, "10:02", 9), "lambda:GetFunction"),
        ev(ago(20, "09:15", 27), "ec2:DescribeInstances"),
        ev(ago(98, "10:10", 10), "logs:GetLogEvents"),
        ev(ago(100, "14:30", 0), "lambda:GetFunction"),
        ev(ago(110, "08:55", 44), "ec2:DescribeInstances")],
    ("222222222222", "Developer"): [
        ev(ago(2, "16:40", 2), "lambda:GetFunction"),
        ev(ago(10, "13:13", 13), "dynamodb:Query"),
        ev(ago(95, "12:00", 0), "lambda:GetFunction"),
        ev(ago(120, "12:05", 0), "dynamodb:Query")],
    ("333333333333", "Developer"): [
        ev(ago(169, "10:00", 0), "logs:GetLogEvents"),
        ev(ago(170, "14:05", 0), "lambda:CreateFunction"),
        ev(ago(170, "14:07", 30), "lambda:InvokeFunction")],
}
SSO_NO_LAST_ACCESSED = {("222222222222", "ReadOnly"): "GenerateServiceLastAccessedDetails: Throttling: Rate exceeded "
                                                      "(gave up after 5 attempts)"}


def sso_roles(account, q):
    """The AWSReservedSSO_* roles Identity Center keeps in an account for each permission set provisioned to it."""
    saml = (f"arn:aws:iam::{account}:saml-provider/AWSSSO_"
            + hashlib.sha256(f"{SSO_INSTANCE_ID}/{account}/saml".encode()).hexdigest()[:16] + "_DO_NOT_DELETE")
    out = []
    for ps in permission_sets(q):
        if account not in ps["accounts"]:
            continue
        out.append(P("role", sso_role_name(account, ps["name"]), ps["accounts"][account],
                     path=f"/aws-reserved/sso.amazonaws.com/{SSO_REGION}/",
                     trust=trust({"Federated": saml}, ["sts:AssumeRoleWithSAML", "sts:TagSession"],
                                 StringEquals={"SAML:aud": "https://signin.aws.amazon.com/saml"}),
                     inline=[("AwsSSOInlinePolicy", ps["inline"])] if ps["inline"] else [],
                     managed=ps["managed"] + ps["customer"],
                     events=SSO_EVENTS.get((account, ps["name"]), []),
                     no_last_accessed=SSO_NO_LAST_ACCESSED.get((account, ps["name"]))))
    return out


def is_sso_role(p):
    return p.kind == "role" and p.path.startswith("/aws-reserved/sso.amazonaws.com/")


def customer_policies(account, q):
    """{name: [(version_id, created, document)], last = default}."""
    pols = account_policies(account, q)
    if any(account in ps["accounts"] and "developer-extras" in ps["customer"] for ps in permission_sets(q)):
        pols["developer-extras"] = [("v1", DEVELOPER_EXTRAS_CREATED[account], DEVELOPER_EXTRAS)]
    return pols


def account_policies(account, q):
    if account == "111111111111":
        ci_v1 = doc(
            allow(["lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration", "lambda:GetFunction"],
                  "arn:aws:lambda:eu-west-1:111111111111:function:orders-*"),
            allow(["s3:PutObject", "s3:ListBucket"],
                  ["arn:aws:s3:::examplecorp-artifacts-prod", "arn:aws:s3:::examplecorp-artifacts-prod/*"]),
            allow("cloudformation:*"),
            allow("iam:PassRole", "arn:aws:iam::111111111111:role/orders-api-lambda",
                  Condition={"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}),
        )
        ci_v2 = json.loads(json.dumps(ci_v1))
        ci_v2["Statement"][0]["Action"] += ["lambda:PublishVersion", "lambda:UpdateAlias"]
        ci_v2["Statement"].append(allow(["ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability",
                                         "ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
                                         "ecr:CompleteLayerUpload"]))
        pols = {
            "ci-deploy-policy": [("v1", iso("2025-04-02T08:30:11Z"), ci_v1)]
            + ([("v2", iso("2026-10-14T13:05:42Z"), ci_v2)] if q == "2026-q4" else []),
            "ci-boundary": [("v1", iso("2025-04-02T08:29:40Z"), doc(
                allow(["lambda:*", "s3:*", "cloudformation:*", "ecr:*", "logs:*", "iam:PassRole"])))],
            "reporting-read": [("v1", iso("2025-10-28T11:02:19Z"), doc(
                allow(["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults"]),
                allow(["glue:GetTable", "glue:GetTables", "glue:GetDatabase"]),
                allow(["s3:GetObject", "s3:ListBucket"],
                      ["arn:aws:s3:::examplecorp-reports", "arn:aws:s3:::examplecorp-reports/*"])))],
        }
        if q == "2026-q4":
            pols["DataPipelineAccess"] = [("v1", iso("2026-11-14T15:41:07Z"), doc(
                allow(["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchGetJobs"]),
                allow(["athena:StartQueryExecution", "athena:GetQueryExecution"]),
                allow(["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::examplecorp-datalake/*")))]
        return pols
    if account == "222222222222":
        pols = {
            "legacy-s3-admin": [("v1", iso("2023-02-17T10:11:12Z"), doc(allow("s3:*")))],
        }
        if q == "2026-q3":
            pols["migration-policy"] = [("v1", iso("2026-04-06T09:00:31Z"), doc(
                allow(["dms:*"]), allow(["rds:Describe*", "rds:CreateDBSnapshot"])))]
        return pols
    return {}


def org(account, q):
    """The principals of one account in one quarter."""
    a = account
    arn_role = f"arn:aws:iam::{a}:role/"
    out = []
    if a == "111111111111":
        qa_inline = doc(allow(["s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject", "s3:PutObject"]
                              + (["s3:DeleteBucket"] if q == "2026-q3" else []),
                              ["arn:aws:s3:::examplecorp-qa-reports", "arn:aws:s3:::examplecorp-qa-reports/*"]))
        out.append(P("role", "ExampleCorpQA", iso("2024-06-03T12:44:10Z"),
                     trust=trust({"AWS": f"arn:aws:iam::{a}:root"}),
                     inline=[("ExampleCorpQA-reports", qa_inline)], managed=["AmazonEC2FullAccess"],
                     tags=[{"Key": "team", "Value": "qa"}, {"Key": "cost-center", "Value": "CC-1042"}],
                     events=[
                         ev(ago(3, "08:41", 17), "ec2:DescribeInstances"),
                         ev(ago(94, "15:02", 44), "ec2:DescribeInstances"),
                         ev(ago(20, "11:20", 5), "ec2:CreateTags"),
                         ev(ago(100, "16:45", 51), "ec2:TerminateInstances"),
                         ev(ago(200, "10:13", 29), "ec2:RunInstances"),
                         ev(ago(10, "07:55", 33), "autoscaling:DescribeAutoScalingGroups"),
                         ev(ago(150, "13:30", 2), "cloudwatch:GetMetricData"),
                         ev(ago(3, "08:43", 9), "s3:GetBucketLocation"),
                         ev(ago(3, "08:43", 12), "s3:GetObject"),
                     ]))
        out.append(P("role", "BreakGlassAdmin", iso("2023-05-10T07:58:22Z"),
                     trust=trust({"AWS": f"arn:aws:iam::{a}:root"}, Bool={"aws:MultiFactorAuthPresent": "true"}),
                     managed=["AdministratorAccess"],
                     tags=[{"Key": "purpose", "Value": "break-glass"}],
                     events=[ev(ago(260, "03:12", 44), "iam:ListUsers", "us-east-1"),
                             ev(ago(40, "22:14", 3), "iam:ListRoles", "us-east-1"),
                             ev(ago(40, "22:16", 41), "iam:GetRole", "us-east-1"),
                             ev(ago(40, "22:19", 8), "cloudtrail:LookupEvents")]))
        out.append(P("role", "orders-api-lambda", iso("2025-01-22T16:20:37Z"), trust=service_trust("lambda.amazonaws.com"),
                     inline=[("orders-api-access", doc(
                         allow(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"],
                               "arn:aws:dynamodb:eu-west-1:111111111111:table/orders"),
                         allow(["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::examplecorp-orders-prod/*"),
                         allow("iam:PassRole", "arn:aws:iam::111111111111:role/orders-api-*")))],
                     managed=["AWSLambdaBasicExecutionRole"],
                     tags=[{"Key": "service", "Value": "orders-api"},
                           {"Key": "owner-note", "Value": "</script><img src=x onerror=alert(1)>"},
                           {"Key": "team", "Value": "Zahlungsverkehr Zürich"}],
                     events=[ev(ago(0, "08:58", 12), "dynamodb:GetItem"), ev(ago(0, "08:58", 13), "dynamodb:Query"),
                             ev(ago(0, "08:58", 14), "logs:PutLogEvents"), ev(ago(0, "08:57", 2), "s3:GetObject"),
                             ev(ago(92, "23:59", 1), "dynamodb:GetItem"), ev(ago(92, "23:59", 2), "logs:PutLogEvents"),
                             ev(ago(95, "12:00", 6), "s3:PutObject")]))
        if q == "2026-q4":
            out.append(P("role", "data-pipeline-2026", iso("2026-11-14T15:41:09Z"),
                         trust=service_trust("glue.amazonaws.com"), managed=["DataPipelineAccess"],
                         tags=[{"Key": "project", "Value": "datalake-2026"}]))
        out.append(P("role", "AWSServiceRoleForECS", iso("2022-09-12T10:04:55Z"), path="/aws-service-role/ecs.amazonaws.com/",
                     trust=service_trust("ecs.amazonaws.com"), managed=["AmazonECSServiceRolePolicy"],
                     events=[ev(ago(0, "06:31", 45), "ec2:DescribeNetworkInterfaces"),
                             ev(ago(0, "06:31", 47), "elasticloadbalancing:RegisterTargets"),
                             ev(ago(92, "06:30", 15), "ec2:DescribeNetworkInterfaces"),
                             ev(ago(92, "06:30", 18), "elasticloadbalancing:RegisterTargets")]))
        out.append(P("role", "SecurityAuditor", iso("2024-01-15T09:00:03Z"),
                     trust=trust({"AWS": f"arn:aws:iam::{MGMT_ACCOUNT}:root"}, Bool={"aws:MultiFactorAuthPresent": "true"}),
                     managed=["ReadOnlyAccess"], tags=[{"Key": "team", "Value": "security"}],
                     events=[ev(ago(12, "10:05", 9), "iam:GetAccountAuthorizationDetails", "us-east-1"),
                             ev(ago(12, "10:07", 31), "s3:GetBucketPolicy"),
                             ev(ago(12, "10:09", 2), "ec2:DescribeSecurityGroups"),
                             ev(ago(12, "10:11", 55), "cloudtrail:DescribeTrails"),
                             ev(ago(95, "10:02", 18), "iam:GetAccountAuthorizationDetails", "us-east-1"),
                             ev(ago(104, "14:40", 0), "config:DescribeConfigRules")]))
        out.append(P("role", "ci-deploy", iso("2025-04-02T08:31:15Z"),
                     trust=trust({"Federated": f"arn:aws:iam::{a}:oidc-provider/token.actions.githubusercontent.com"},
                                 "sts:AssumeRoleWithWebIdentity",
                                 StringEquals={"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                                 StringLike={"token.actions.githubusercontent.com:sub": "repo:examplecorp/orders-api:ref:refs/heads/main"}),
                     managed=["ci-deploy-policy"], boundary="ci-boundary",
                     events=[ev(ago(2, "17:03", 12), "lambda:UpdateFunctionCode"),
                             ev(ago(2, "17:03", 10), "lambda:GetFunction"),
                             ev(ago(2, "17:02", 51), "cloudformation:DescribeStacks"),
                             ev(ago(2, "17:02", 40), "s3:PutObject"),
                             ev(ago(93, "16:20", 7), "lambda:UpdateFunctionCode"),
                             ev(ago(93, "16:20", 5), "lambda:GetFunction"),
                             ev(ago(93, "16:19", 50), "cloudformation:DescribeStacks"),
                             ev(ago(130, "09:12", 0), "lambda:UpdateFunctionConfiguration")]))
        out.append(P("role", "log-shipper", iso("2024-09-30T14:15:16Z"), trust=service_trust("ec2.amazonaws.com"),
                     inline=[("ship-logs", doc(
                         allow(["logs:Describe*", "kinesis:PutRecord?", "firehose:PutRecordBatch"]),
                         allow(["s3:GetObjekt"], "arn:aws:s3:::examplecorp-log-archive/*")))],
                     events=[ev(ago(0, "09:01", 7), "kinesis:PutRecords"), ev(ago(5, "03:00", 0), "logs:DescribeLogGroups"),
                             ev(ago(92, "09:00", 51), "kinesis:PutRecords")]))
        out.append(P("role", "legacy-batch", iso("2021-03-08T19:25:43Z"), trust=service_trust("ec2.amazonaws.com"),
                     inline=[("batch-queue", doc(allow(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:SendMessage"],
                                                       "arn:aws:sqs:eu-west-1:111111111111:legacy-batch-*")))],
                     instance_profile=("legacy-batch", iso("2021-03-08T19:25:44Z")),
                     events=[ev(ago(1, "02:00", 4), "sqs:ReceiveMessage"), ev(ago(92, "02:00", 3), "sqs:ReceiveMessage")],
                     no_last_accessed=("GenerateServiceLastAccessedDetails: Throttling: Rate exceeded "
                                       "(gave up after 5 attempts)")))
        out.append(P("role", "old-reporting", iso("2025-10-28T11:02:21Z"),
                     trust=trust({"AWS": f"arn:aws:iam::{a}:root"}), managed=["reporting-read"],
                     tags=[{"Key": "owner", "Value": "finance-bi"}]))
        out.append(P("user", "alice", iso("2022-02-14T09:30:00Z"),
                     managed=["IAMUserChangePassword", "AmazonEC2ReadOnlyAccess"],
                     inline=[("billing-read", doc(allow(["ce:GetCostAndUsage", "ce:GetCostForecast", "budgets:ViewBudget"])))],
                     tags=[{"Key": "email", "Value": "alice@example.com"}],
                     events=[ev(ago(1, "13:22", 40), "ec2:DescribeInstances", via="console"),
                             ev(ago(1, "13:25", 3), "ce:GetCostAndUsage", "us-east-1", via="console"),
                             ev(ago(2, "08:10", 55), "ec2:DescribeVolumes", via="key1"),
                             ev(ago(70, "10:00", 31), "iam:ChangePassword", "us-east-1", via="console"),
                             ev(ago(93, "08:12", 10), "ec2:DescribeVolumes", via="key1"),
                             ev(ago(96, "15:40", 22), "ec2:DescribeInstances", via="console")]))
        out.append(P("user", "ci-bot", iso("2024-11-05T12:00:00Z"),
                     inline=[("ecr-push", doc(allow(["ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability",
                                                    "ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
                                                    "ecr:CompleteLayerUpload"])))],
                     events=[ev(ago(1, "18:44", 21), "ecr:PutImage"), ev(ago(1, "18:43", 58), "ecr:GetAuthorizationToken"),
                             ev(ago(93, "18:40", 2), "ecr:PutImage")]))
    elif a == "222222222222":
        out.append(P("role", "OrganizationAccountAccessRole", iso("2023-01-09T10:00:12Z"),
                     trust=trust({"AWS": f"arn:aws:iam::{MGMT_ACCOUNT}:root"}), managed=["AdministratorAccess"],
                     events=[ev(ago(25, "16:30", 20), "iam:CreateRole", "us-east-1"),
                             ev(ago(25, "16:31", 2), "iam:AttachRolePolicy", "us-east-1"),
                             ev(ago(25, "16:34", 44), "sts:GetCallerIdentity"),
                             ev(ago(150, "08:05", 5), "iam:ListRoles", "us-east-1")]))
        dev_inline = [("=1+1", doc(allow(["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:GetQueueUrl", "sns:Publish"])))]
        out.append(P("role", "dev-sandbox", iso("2023-06-19T08:12:00Z"), trust=trust({"AWS": f"arn:aws:iam::{a}:root"}),
                     inline=dev_inline, managed=["AmazonS3FullAccess"] if q == "2026-q3" else [],
                     tags=[{"Key": "=10+20", "Value": "formula in a tag key"}, {"Key": "team", "Value": "dev"}],
                     events=[ev(ago(12, "14:20", 8), "sqs:SendMessage"), ev(ago(120, "11:11", 11), "s3:ListAllMyBuckets")]))
        out.append(P("role", "platform-ops", iso("2023-03-27T13:37:00Z"), trust=trust({"AWS": f"arn:aws:iam::{a}:root"}),
                     inline=[("power-user-guarded", doc(
                         {"Sid": "AllExceptIdentity", "Effect": "Allow",
                          "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"},
                         {"Sid": "NeverTouchTheTrail", "Effect": "Deny",
                          "Action": ["cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "s3:DeleteBucket"], "Resource": "*"},
                         {"Sid": "OnlyOurRegions", "Effect": "Deny", "Action": "ec2:*", "Resource": "*",
                          "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"]}}}))],
                     events=[ev(ago(100, "10:40", 0), "ec2:DescribeVpcs"), ev(ago(6, "10:40", 0), "ec2:DescribeVpcs"), ev(ago(6, "10:42", 13), "ec2:CreateSecurityGroup"),
                             ev(ago(30, "09:09", 9), "cloudformation:UpdateStack"), ev(ago(8, "15:15", 15), "rds:DescribeDBInstances"),
                             ev(ago(45, "12:12", 12), "s3:CreateBucket")]))
        out.append(P("role", "AWSServiceRoleForTrustedAdvisor", iso("2022-04-01T00:10:10Z"),
                     path="/aws-service-role/trustedadvisor.amazonaws.com/",
                     trust=service_trust("trustedadvisor.amazonaws.com"), managed=["AWSTrustedAdvisorServiceRolePolicy"],
                     events=[ev(ago(1, "04:00", 1), "ec2:DescribeInstances", "us-east-1"),
                             ev(ago(1, "04:00", 3), "iam:GenerateCredentialReport", "us-east-1"),
                             ev(ago(92, "04:00", 2), "ec2:DescribeInstances", "us-east-1")]))
        etl_inline = [("etl", doc(allow(["glue:StartJobRun", "glue:GetJobRun", "glue:GetTable"]),
                                  allow(["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::examplecorp-dev-etl/*")))]
        if q == "2026-q3":
            out.append(P("role", "etl-runner", iso("2025-03-14T10:20:30Z"), trust=service_trust("glue.amazonaws.com"),
                         inline=etl_inline, events=[ev(ago(93, "01:00", 5), "glue:StartJobRun")]))
            out.append(P("role", "migration-2026q2", iso("2026-04-06T09:00:35Z"), trust=service_trust("dms.amazonaws.com"),
                         managed=["migration-policy"], events=[ev(ago(110, "20:20", 20), "dms:StartReplicationTask")]))
        else:
            out.append(P("role", "etl-runner", iso("2026-10-05T07:45:12Z"), trust=service_trust("glue.amazonaws.com"),
                         inline=etl_inline, incarnation="2", events=[ev(ago(1, "01:00", 5), "glue:StartJobRun")]))
        out.append(P("user", "bob", iso("2023-06-19T08:05:00Z"), groups=["developers"],
                     events=[ev(ago(5, "11:10", 0), "lambda:ListFunctions", via="console"),
                             ev(ago(5, "11:12", 36), "logs:FilterLogEvents", via="console"),
                             ev(ago(96, "10:30", 0), "lambda:ListFunctions", via="console"),
                             ev(ago(201, "16:00", 9), "lambda:GetFunction", via="key2")]))
        out.append(P("user", "former-contractor", iso("2025-02-03T09:00:00Z"),
                     managed=["AmazonS3ReadOnlyAccess"],
                     inline=[("upload-drop", doc(allow(["s3:PutObject", "s3:ListBucket"],
                                                       ["arn:aws:s3:::examplecorp-dev-drop", "arn:aws:s3:::examplecorp-dev-drop/*"])))],
                     events=[ev(ago(155, "17:55", 0), "s3:PutObject", via="key1"),
                             ev(ago(155, "17:56", 12), "s3:GetBucketLocation", via="key1"),
                             ev(ago(160, "09:20", 30), "s3:ListAllMyBuckets", via="console")]))
        out.append(P("group", "developers", iso("2023-06-19T08:00:00Z"),
                     inline=[("developers-base", doc(allow(["logs:Describe*", "logs:FilterLogEvents", "logs:GetLogEvents",
                                                            "cloudwatch:GetMetricData"])))],
                     managed=["AWSLambda_ReadOnlyAccess"]))
        out.append(P("group", "auditors", iso("2024-02-01T10:00:00Z"), managed=["AWSCloudTrail_ReadOnlyAccess"]))
    elif a == "333333333333" and q == "2026-q3":
        out.append(P("role", "OrganizationAccountAccessRole", iso("2026-02-02T09:00:00Z"),
                     trust=trust({"AWS": f"arn:aws:iam::{MGMT_ACCOUNT}:root"}), managed=["AdministratorAccess"],
                     events=[ev(ago(200, "09:30", 30), "iam:CreateRole", "us-east-1")]))
        out.append(P("role", "hackathon-2026", iso("2026-02-02T09:45:00Z"), trust=service_trust("sagemaker.amazonaws.com"),
                     inline=[("hack", doc(allow(["sagemaker:*", "s3:*"])))],
                     events=[ev(ago(170, "14:00", 0), "sagemaker:CreateNotebookInstance"),
                             ev(ago(170, "14:01", 0), "s3:CreateBucket")]))
    return out + sso_roles(a, q)


ROOT_ROWS = {
    # (account, quarter): root row values
    ("111111111111", "2026-q3"): dict(created="2021-01-04T08:00:00+00:00", pw_used=ago(120, "07:30", 12), mfa=True, key1=None),
    ("111111111111", "2026-q4"): dict(created="2021-01-04T08:00:00+00:00", pw_used=ago(9, "07:30", 12), mfa=True, key1=None),
    ("222222222222", "2026-q3"): dict(created="2023-01-09T09:58:00+00:00", pw_used=None, mfa=False,
                                      key1=(iso("2023-01-09T10:05:00Z"), ago(130, "21:04", 0), "us-east-1", "s3")),
    ("222222222222", "2026-q4"): dict(created="2023-01-09T09:58:00+00:00", pw_used=None, mfa=False,
                                      key1=(iso("2023-01-09T10:05:00Z"), ago(49, "21:04", 0), "us-east-1", "s3")),
}

USER_CREDS = {
    # name: password (changed, next_rotation or None) or None; mfa; keys [(created, deactivated_or_None)]
    "alice": dict(password=[(iso("2026-06-13T09:58:02Z"), iso("2026-09-11T09:58:02Z")),
                            (iso("2026-09-11T10:00:31Z"), iso("2026-12-10T10:00:31Z"))], mfa=True,
                  keys=[(iso("2026-06-01T08:00:00Z"), None), None]),
    "ci-bot": dict(password=None, mfa=False, keys=[(iso("2026-05-02T12:00:00Z"), None), None]),
    "bob": dict(password=[(iso("2023-06-19T08:06:00Z"), None)], mfa=False,
                keys=[(iso("2026-07-30T15:00:00Z"), None), (iso("2025-09-15T10:00:00Z"), None)]),
    "former-contractor": dict(password=[(iso("2025-02-03T09:05:00Z"), None)], mfa=False,
                              keys=[(iso("2025-02-03T09:10:00Z"), None), None]),
}


# ---------------------------------------------------------------------------------------------- building exports

def managed_source(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def policy_arn(account, name):
    if name in AWS_MANAGED:
        return f"arn:aws:iam::aws:policy{AWS_MANAGED[name][0]}{name}"
    return f"arn:aws:iam::{account}:policy/{name}"


class Export:
    def __init__(self, account, q, aws_docs):
        self.account, self.q, self.asof = account, q, QUARTERS[q]
        self.style = ACCOUNTS[account]["style"]
        self.aws_docs = aws_docs
        self.principals = [p for p in org(account, q)]
        self.customer = customer_policies(account, q)
        self.by_name = {(p.kind, p.name): p for p in self.principals}

    def t(self, dt, precision="s"):
        return fmt(dt, self.style, precision)

    def arn(self, p):
        return f"arn:aws:iam::{self.account}:{p.kind}{p.path}{p.name}"

    def pid(self, p):
        prefix = {"role": "AROA", "user": "AIDA", "group": "AGPA"}[p.kind]
        return iam_id(prefix, self.account, p.kind, p.name, p.incarnation)

    def document_of(self, name):
        if name in AWS_MANAGED:
            return self.aws_docs[name]["Document"]
        return self.customer[name][-1][2]

    def documents(self, p):
        docs = [d for _, d in p.inline] + [self.document_of(m) for m in p.managed]
        for g in p.groups:
            docs += self.documents(self.by_name[("group", g)])
        return docs

    def events(self, p, until):
        if p.kind == "group":
            grant = granted(self.documents(p))
            evs = []
            for u in self.principals:
                if u.kind == "user" and p.name in u.groups:
                    evs += [(w, s, a, r, via, self.arn(u)) for (w, s, a, r, via) in u.events if a in grant.get(s, ())]
        else:
            evs = [e + (self.arn(p),) for e in p.events]
        lo = until - timedelta(days=TRACKING_DAYS)
        return [e for e in evs if lo <= e[0] <= until]

    # -- authorization-details.json
    def gaad(self):
        users, groups, roles = [], [], []
        for p in sorted(self.principals, key=lambda p: p.name.lower()):
            inline_key = {"user": "UserPolicyList", "group": "GroupPolicyList", "role": "RolePolicyList"}[p.kind]
            e = {"Path": p.path, f"{p.kind.capitalize()}Name": p.name, f"{p.kind.capitalize()}Id": self.pid(p),
                 "Arn": self.arn(p), "CreateDate": self.t(p.created)}
            if p.kind == "role":
                e["AssumeRolePolicyDocument"] = p.trust
                e["InstanceProfileList"] = []
                if p.instance_profile:
                    ipn, ipc = p.instance_profile
                    e["InstanceProfileList"].append({
                        "Path": "/", "InstanceProfileName": ipn,
                        "InstanceProfileId": iam_id("AIPA", self.account, ipn),
                        "Arn": f"arn:aws:iam::{self.account}:instance-profile/{ipn}", "CreateDate": self.t(ipc),
                        "Roles": [{"Path": p.path, "RoleName": p.name, "RoleId": self.pid(p), "Arn": self.arn(p),
                                   "CreateDate": self.t(p.created), "AssumeRolePolicyDocument": p.trust}]})
            inline = [{"PolicyName": n, "PolicyDocument": d} for n, d in p.inline]
            if inline or p.kind != "user":  # the CLI omits an empty UserPolicyList; keep both shapes in the sample
                e[inline_key] = inline
            if p.kind == "user":
                e["GroupList"] = list(p.groups)
            e["AttachedManagedPolicies"] = [{"PolicyName": m, "PolicyArn": policy_arn(self.account, m)} for m in p.managed]
            if p.boundary:
                e["PermissionsBoundary"] = {"PermissionsBoundaryType": "PermissionsBoundaryPolicy",
                                            "PermissionsBoundaryArn": policy_arn(self.account, p.boundary)}
            if p.kind != "group":
                e["Tags"] = list(p.tags)
            if p.kind == "role":
                evs = self.events(p, self.asof)
                if evs:
                    last = max(evs)
                    e["RoleLastUsed"] = {"LastUsedDate": self.t(last[0]), "Region": last[3]}
                else:
                    e["RoleLastUsed"] = {}
            {"user": users, "group": groups, "role": roles}[p.kind].append(e)

        attach, boundary = {}, {}
        for p in self.principals:
            for m in p.managed:
                attach[m] = attach.get(m, 0) + 1
            if p.boundary:
                boundary[p.boundary] = boundary.get(p.boundary, 0) + 1
        policies = []
        names = set(self.customer) | set(attach) | set(boundary)
        for name in sorted(names, key=lambda n: policy_arn(self.account, n).lower()):
            if name in AWS_MANAGED:
                src = self.aws_docs[name]
                path, created = AWS_MANAGED[name][0], iso(AWS_MANAGED[name][1])
                versions = [(src["VersionId"], iso(src["CreateDate"]), src["Document"])]
                pid = iam_id("ANPA", "aws", name)
            else:
                path, versions = "/", self.customer[name]
                created = versions[0][1]
                pid = iam_id("ANPA", self.account, name)
            default = versions[-1]
            policies.append({
                "PolicyName": name, "PolicyId": pid, "Arn": policy_arn(self.account, name), "Path": path,
                "DefaultVersionId": default[0], "AttachmentCount": attach.get(name, 0),
                "PermissionsBoundaryUsageCount": boundary.get(name, 0), "IsAttachable": True,
                "CreateDate": self.t(created), "UpdateDate": self.t(default[1]),
                "PolicyVersionList": [{"Document": author_order(d), "VersionId": v, "IsDefaultVersion": v == default[0],
                                       "CreateDate": self.t(c)} for v, c, d in reversed(versions)],
            })
        return {"UserDetailList": users, "GroupDetailList": groups, "RoleDetailList": roles, "Policies": policies}

    # -- last-accessed/<kind>s/<name>.json
    def last_accessed(self, p, index):
        created = self.asof + timedelta(seconds=7 * index, milliseconds=stable_int(p.name) % 997 + 1)
        completed = created + timedelta(seconds=2, milliseconds=stable_int(p.name, "c") % 997 + 1)
        evs = self.events(p, created)
        grant = granted(self.documents(p))
        services = []
        for ns in sorted(grant):
            mine = [e for e in evs if e[1] == ns]
            s = {"ServiceName": service_name(ns)}
            if mine:
                last = max(mine)
                s["LastAuthenticated"] = self.t(last[0], "m")
            s["ServiceNamespace"] = ns
            if mine:
                s["LastAuthenticatedEntity"] = last[5]
                s["LastAuthenticatedRegion"] = last[3]
                s["TotalAuthenticatedEntities"] = len({e[5] for e in mine})
            else:
                s["TotalAuthenticatedEntities"] = 0
            tracked_used = [e for e in mine if trackable(ns, e[2])]
            if tracked_used:  # AWS omits the list when no tracked action of the service was used
                rows = []
                for act in sorted(a for a in grant[ns] if trackable(ns, a)):
                    used = [e for e in mine if e[2] == act]
                    r = {"ActionName": act}
                    if used:
                        u = max(used)
                        r.update({"LastAccessedEntity": u[5], "LastAccessedTime": self.t(u[0], "m"),
                                  "LastAccessedRegion": u[3]})
                    rows.append(r)
                s["TrackedActionsLastAccessed"] = rows
            services.append(s)
        return {"JobStatus": "COMPLETED", "JobType": "ACTION_LEVEL", "JobCreationDate": self.t(created, "ms"),
                "ServicesLastAccessed": services, "JobCompletionDate": self.t(completed, "ms"), "IsTruncated": False}

    # -- credential-report.csv
    def credential_report(self, upper):
        b = (lambda v: "TRUE" if v else "FALSE") if upper else (lambda v: "true" if v else "false")
        rows = [CRED_HEADER]
        r = ROOT_ROWS[(self.account, self.q)]
        root = ["<root_account>", f"arn:aws:iam::{self.account}:root", r["created"], "not_supported",
                cred_date(r["pw_used"]) if r["pw_used"] else "no_information", "not_supported", "not_supported", b(r["mfa"])]
        if r["key1"]:
            rot, used, region, svc = r["key1"]
            root += [b(True), cred_date(rot), cred_date(used), region, svc]
        else:
            root += [b(False), "N/A", "N/A", "N/A", "N/A"]
        root += [b(False), "N/A", "N/A", "N/A", "N/A", b(False), "N/A", b(False), "N/A"]
        rows.append(root)
        for p in sorted((p for p in self.principals if p.kind == "user"), key=lambda p: p.name):
            c = USER_CREDS[p.name]
            evs = self.events(p, self.asof)
            row = [p.name, self.arn(p), cred_date(p.created)]
            if c["password"]:
                changed, rotation = [pw for pw in c["password"] if pw[0] <= self.asof][-1]
                console = [e for e in evs if e[4] == "console"]
                row += [b(True), cred_date(max(console)[0]) if console else "no_information", cred_date(changed),
                        cred_date(rotation) if rotation else "N/A"]
            else:
                row += [b(False), "N/A", "N/A", "N/A"]
            row.append(b(c["mfa"]))
            for i, key in enumerate(c["keys"], start=1):
                if key is None or key[0] > self.asof:
                    row += [b(False), "N/A", "N/A", "N/A", "N/A"]
                    continue
                used = [e for e in evs if e[4] == f"key{i}"]
                if used:
                    u = max(used)
                    row += [b(True), cred_date(key[0]), cred_date(u[0]), "N/A" if u[1] == "s3" else u[3], u[1]]
                else:
                    row += [b(True), cred_date(key[0]), "N/A", "N/A", "N/A"]
            row += [b(False), "N/A", b(False), "N/A"]
            rows.append(row)
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        return buf.getvalue()


def dump(obj):
    return (json.dumps(obj, indent=4, ensure_ascii=False) + "\n").encode("utf-8")


def write(files, rel, data):
    files[rel] = data


def build_export(account, q, aws_docs):
    ex = Export(account, q, aws_docs)
    files = {}
    write(files, "authorization-details.json", dump(ex.gaad()))
    missing = {}
    # Jobs in this order (7 s apart); the Identity Center roles were added to the sample later and run last.
    order = sorted(ex.principals, key=lambda p: (is_sso_role(p), p.kind != "role", p.kind, p.name.lower()))
    for i, p in enumerate(order):
        if p.no_last_accessed:
            missing[f"{p.kind}/{p.name}"] = p.no_last_accessed
            continue
        write(files, f"last-accessed/{p.kind}s/{p.name}.json", dump(ex.last_accessed(p, i)))
    if (account, q) in ROOT_ROWS:
        write(files, "credential-report.csv", ex.credential_report(upper=(account == "222222222222" and q == "2026-q4")).encode())
    if ACCOUNTS[account]["manifest"]:
        manifest = {
            "account_id": account, "partition": "aws",
            "created": fmt(ex.asof + timedelta(minutes=4, seconds=40), "v1"),
            "tool": "iam-tighten 0.1.0",
            "files": {rel: hashlib.sha256(data).hexdigest() for rel, data in sorted(files.items())},
            "missing": missing,
        }
        write(files, "manifest.json", (json.dumps(manifest, indent=2) + "\n").encode())
    return files


def org_arn(kind, tail):
    return f"arn:aws:organizations::{MGMT_ACCOUNT}:{kind}/{ORG_ID}/{tail}"


def build_organization(q):
    """The files of <quarter>/organization/, as `aws ... --output json` (CLI v2) prints them in the management account."""
    asof = QUARTERS[q]
    t = lambda dt: fmt(dt, "v2", "ms")
    files = {}
    accounts = {a: v for a, v in ORG_ACCOUNTS.items() if v["joined"][1] <= asof}

    def account_path(a):
        parent = accounts[a]["parent"]
        return f"{ORG_ID}/{ROOT_ID}/" + ("" if parent == ROOT_ID else parent + "/") + f"{a}/"

    def account(a):
        v = accounts[a]
        state = "SUSPENDED" if v["closed"] and v["closed"] <= asof else "ACTIVE"
        return {"Id": a, "Arn": org_arn("account", a), "Email": v["email"], "Name": v["name"],
                "Status": state, "State": state, "Paths": [account_path(a)],
                "JoinedMethod": v["joined"][0], "JoinedTimestamp": t(v["joined"][1])}

    types = [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}]
    write(files, "describe-organization.json", dump({"Organization": {
        "Id": ORG_ID, "Arn": f"arn:aws:organizations::{MGMT_ACCOUNT}:organization/{ORG_ID}", "FeatureSet": "ALL",
        "MasterAccountArn": org_arn("account", MGMT_ACCOUNT), "MasterAccountId": MGMT_ACCOUNT,
        "MasterAccountEmail": accounts[MGMT_ACCOUNT]["email"],
        # deprecated by AWS ("doesn't provide complete information"): it names SCPs only; list-roots is the truth
        "AvailablePolicyTypes": types}}))
    write(files, "list-roots.json", dump({"Roots": [{
        "Id": ROOT_ID, "Arn": org_arn("root", ROOT_ID), "Name": "Root",
        "PolicyTypes": types + [{"Type": "RESOURCE_CONTROL_POLICY", "Status": "ENABLED"}]}]}))
    write(files, "list-accounts.json", dump({"Accounts": [account(a) for a in sorted(accounts)]}))
    for parent in [ROOT_ID] + sorted(OUS):
        ous = sorted(OUS) if parent == ROOT_ID else []
        write(files, f"ous/{parent}.json", dump({"OrganizationalUnits": [
            {"Id": ou, "Arn": org_arn("ou", ou), "Name": OUS[ou], "Path": f"{ORG_ID}/{ROOT_ID}/{ou}/"} for ou in ous]}))
        write(files, f"accounts/{parent}.json", dump({"Accounts": [
            account(a) for a in sorted(accounts) if accounts[a]["parent"] == parent]}))

    def target(tid):
        if tid == ROOT_ID:
            return {"TargetId": tid, "Arn": org_arn("root", tid), "Name": "Root", "Type": "ROOT"}
        if tid in OUS:
            return {"TargetId": tid, "Arn": org_arn("ou", tid), "Name": OUS[tid], "Type": "ORGANIZATIONAL_UNIT"}
        return {"TargetId": tid, "Arn": org_arn("account", tid), "Name": accounts[tid]["name"], "Type": "ACCOUNT"}

    listed = {}
    for ptype, pid, name, description, aws_managed, content, targets in org_policies():
        arn = (f"arn:aws:organizations::aws:policy/{ptype.lower()}/{pid}" if aws_managed
               else f"arn:aws:organizations::{MGMT_ACCOUNT}:policy/{ORG_ID}/{ptype.lower()}/{pid}")
        summary = {"Id": pid, "Arn": arn, "Name": name, "Description": description, "Type": ptype, "AwsManaged": aws_managed}
        listed.setdefault(ptype, []).append(summary)
        write(files, f"policy/{pid}.json", dump({"Policy": {"PolicySummary": summary, "Content": content}}))
        if targets == "all":  # AWS attaches FullAWSAccess / RCPFullAWSAccess to every root, OU and account
            targets = [ROOT_ID] + sorted(OUS) + sorted(accounts)
        write(files, f"targets/{pid}.json", dump({"Targets": [target(x) for x in targets]}))
    for ptype, summaries in listed.items():
        write(files, f"policies/{ptype}.json", dump({"Policies": summaries}))

    sso = f"sso/{SSO_INSTANCE_ID}"
    write(files, "sso/list-instances.json", dump({"Instances": [{
        "InstanceArn": SSO_INSTANCE_ARN, "IdentityStoreId": SSO_IDENTITY_STORE, "OwnerAccountId": MGMT_ACCOUNT,
        "CreatedDate": t(SSO_CREATED), "Status": "ACTIVE"}]}))
    sets = permission_sets(q)
    write(files, f"{sso}/list-permission-sets.json", dump({"PermissionSets": [ps_arn(ps["name"]) for ps in sets]}))
    for ps in sets:
        d = f"{sso}/{ps_arn(ps['name']).rsplit('/', 1)[1]}"
        write(files, f"{d}/describe-permission-set.json", dump({"PermissionSet": {
            "Name": ps["name"], "PermissionSetArn": ps_arn(ps["name"]), "Description": ps["description"],
            "CreatedDate": t(ps["created"]), "SessionDuration": ps["session"]}}))
        write(files, f"{d}/inline-policy.json",
              dump({"InlinePolicy": json.dumps(ps["inline"], separators=(",", ":")) if ps["inline"] else ""}))
        write(files, f"{d}/managed-policies.json", dump({"AttachedManagedPolicies": [
            {"Name": m, "Arn": policy_arn(None, m)} for m in ps["managed"]]}))
        write(files, f"{d}/customer-managed-policies.json", dump({"CustomerManagedPolicyReferences": [
            {"Name": c, "Path": "/"} for c in ps["customer"]]}))
        # no permissions-boundary.json: no permission set has a boundary
        write(files, f"{d}/accounts.json", dump({"AccountIds": sorted(ps["accounts"])}))
    return files


# ---------------------------------------------------------------------------------------------- --check

def verdicts(export_dir, window_days=90):
    """{(kind, name): (principal id, {action: verdict})}: the brief's verdict rules, to prove the story is told."""
    gaad = json.load(open(os.path.join(export_dir, "authorization-details.json"), encoding="utf-8"))
    pols = {p["Arn"]: next(v["Document"] for v in p["PolicyVersionList"] if v["IsDefaultVersion"]) for p in gaad["Policies"]}
    groups = {g["GroupName"]: g for g in gaad["GroupDetailList"]}
    files, asof = {}, None
    for kind in ("role", "user", "group"):
        d = os.path.join(export_dir, "last-accessed", kind + "s")
        for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            la = json.load(open(os.path.join(d, f), encoding="utf-8"))
            files[(kind, f[:-5])] = la
            t = datetime.fromisoformat(la["JobCompletionDate"].replace("Z", "+00:00"))
            asof = max(asof or t, t)
    lo = asof - timedelta(days=window_days)
    t = lambda v: v and datetime.fromisoformat(v.replace("Z", "+00:00"))
    out = {}
    for kind, lst in (("role", "RoleDetailList"), ("user", "UserDetailList"), ("group", "GroupDetailList")):
        for e in gaad[lst]:
            name = e[kind.capitalize() + "Name"]
            docs = [x["PolicyDocument"] for x in e.get(kind.capitalize() + "PolicyList", [])]
            docs += [pols[m["PolicyArn"]] for m in e["AttachedManagedPolicies"]]
            for g in e.get("GroupList", []):
                docs += [x["PolicyDocument"] for x in groups[g]["GroupPolicyList"]]
                docs += [pols[m["PolicyArn"]] for m in groups[g]["AttachedManagedPolicies"]]
            la = files.get((kind, name))
            svcs = {s["ServiceNamespace"]: s for s in la["ServicesLastAccessed"]} if la else {}
            any_use = any(s.get("LastAuthenticated") for s in svcs.values())
            res = {}
            for ns, acts in granted(docs).items():
                for act in acts:
                    if la is None:
                        v = "unknown/no_last_accessed_data"
                    elif (ns == "iam" and act == "PassRole") or (ns == "s3" and S3_DATA_RE.search(act) and "Object" in act):
                        v = "unknown/not_observable"
                    elif not any_use and t(e["CreateDate"]) > lo:
                        v = "unknown/principal_too_new"
                    else:
                        s = svcs[ns]
                        tracked = {x["ActionName"]: x for x in s.get("TrackedActionsLastAccessed", [])}
                        last = t(s.get("LastAuthenticated"))
                        if not last or last < lo:
                            v = "unused/service_not_accessed"
                        elif act in tracked:
                            when = t(tracked[act].get("LastAccessedTime"))
                            v = ("unused/action_not_accessed" if not when else
                                 "used/accessed_in_window" if when >= lo else "unused/action_last_accessed_before_window")
                        else:
                            v = "unknown/action_not_tracked"
                    res[f"{ns}:{act}"] = v
            out[(kind, name)] = (e[kind.capitalize() + "Id"], res)
    return out


def diff_kinds(old, new):
    kinds = {}
    def add(k, what):
        kinds.setdefault(k, []).append(what)
    for key in sorted(set(old) | set(new)):
        if key not in new:
            add("principal_removed", key)
            continue
        if key not in old:
            add("principal_added", key)
            continue
        if old[key][0] != new[key][0]:
            add("principal_recreated", key)
            continue
        o, n = old[key][1], new[key][1]
        for act in sorted(set(o) | set(n)):
            if act not in n:
                add("revoked", (key, act))
            elif act not in o:
                add("newly_granted", (key, act))
            else:
                a, b = o[act].split("/")[0], n[act].split("/")[0]
                k = {("used", "unused"): "newly_unused", ("unused", "used"): "newly_used",
                     ("unused", "unused"): "still_unused", ("used", "used"): "unchanged_used"}.get((a, b))
                if k:
                    add(k, (key, act))
    return kinds


ORG_SHAPES = [  # (file under organization/, the top-level key the AWS CLI prints)
    (r"describe-organization\.json", "Organization"),
    (r"list-roots\.json", "Roots"),
    (r"list-accounts\.json", "Accounts"),
    (r"ous/(r|ou)-[0-9a-z-]+\.json", "OrganizationalUnits"),
    (r"accounts/(r|ou)-[0-9a-z-]+\.json", "Accounts"),
    (r"policies/(SERVICE_CONTROL_POLICY|RESOURCE_CONTROL_POLICY)\.json", "Policies"),
    (r"policy/p-[0-9A-Za-z_]+\.json", "Policy"),
    (r"targets/p-[0-9A-Za-z_]+\.json", "Targets"),
    (r"sso/list-instances\.json", "Instances"),
    (r"sso/ssoins-[0-9a-f]{16}/list-permission-sets\.json", "PermissionSets"),
    (r"sso/ssoins-[0-9a-f]{16}/ps-[0-9a-f]{16}/describe-permission-set\.json", "PermissionSet"),
    (r"sso/ssoins-[0-9a-f]{16}/ps-[0-9a-f]{16}/inline-policy\.json", "InlinePolicy"),
    (r"sso/ssoins-[0-9a-f]{16}/ps-[0-9a-f]{16}/managed-policies\.json", "AttachedManagedPolicies"),
    (r"sso/ssoins-[0-9a-f]{16}/ps-[0-9a-f]{16}/customer-managed-policies\.json", "CustomerManagedPolicyReferences"),
    (r"sso/ssoins-[0-9a-f]{16}/ps-[0-9a-f]{16}/permissions-boundary\.json", "PermissionsBoundary"),
    (r"sso/ssoins-[0-9a-f]{16}/ps-[0-9a-f]{16}/accounts\.json", "AccountIds"),
]
SSO_ROLE_RE = re.compile(r"^AWSReservedSSO_(.+)_[0-9a-f]{16}$")


def permission_set_rollup(per_account):
    """One permission set's verdict per action from its roles' verdicts, a simplified copy of the analysis:
    used if any provisioned account's role used it; unknown/permission_set_incomplete if not, and some provisioned
    account has no role or no last-accessed file; unused if every account's role says unused; else unknown with the
    accounts' reason (e.g. action_not_tracked in one account and unused in another).
    per_account: {account: {action: verdict} or None (no role / no file)}."""
    actions = sorted({a for res in per_account.values() if res for a in res})
    out = {}
    for act in actions:
        vs = [res[act] for res in per_account.values() if res and act in res]
        if any(v.startswith("used/") for v in vs):
            out[act] = "used"
        elif any(res is None for res in per_account.values()):
            out[act] = "unknown/permission_set_incomplete"
        elif all(v.startswith("unused/") for v in vs):
            out[act] = "unused"
        else:
            out[act] = sorted(v for v in vs if v.startswith("unknown/"))[0]
    return out


def check_organization(qdir, q, account_verdicts):
    """Validate <quarter>/organization/ and print what it says: the tree, the SCPs' effect on the exported accounts'
    grants, the permission sets and their roles, and the permission-set verdicts. Returns (problems, facts)."""
    problems, facts = [], {}
    odir = os.path.join(qdir, "organization")
    say = lambda msg: print(f"  {msg}")
    print(f"{q} organization/:")
    files = {}
    for root, _, names in os.walk(odir):
        for n in names:
            rel = os.path.relpath(os.path.join(root, n), odir).replace(os.sep, "/")
            key = next((k for rx, k in ORG_SHAPES if re.fullmatch(rx, rel)), None)
            if key is None:
                problems.append(f"{q}/organization/{rel}: not a file of the organisation part")
                continue
            try:
                data = json.load(open(os.path.join(root, n), encoding="utf-8"))
            except ValueError as e:
                problems.append(f"{q}/organization/{rel}: not JSON: {e}")
                continue
            if not isinstance(data, dict) or key not in data:
                problems.append(f"{q}/organization/{rel}: no top-level {key}")
            elif "NextToken" in data:
                problems.append(f"{q}/organization/{rel}: still has a NextToken (truncated)")
            files[rel] = data
    say(f"{len(files)} files" + (", each with its CLI top-level key" if not problems else ""))
    core = ["describe-organization.json", "list-roots.json", "list-accounts.json"]
    problems += [f"{q}/organization/{f} is missing" for f in core if f not in files]
    if any(f not in files for f in core):
        return problems, facts

    # The tree, from the roots.
    org = files["describe-organization.json"]["Organization"]
    mgmt = org["MasterAccountId"]
    listed = {a["Id"]: a for a in files["list-accounts.json"]["Accounts"]}
    chain, names = {}, {}  # account -> [root, ou, ..., account]; target id -> name
    stack = [(r["Id"], [r["Id"]]) for r in files["list-roots.json"]["Roots"]]
    names.update({r["Id"]: r["Name"] for r in files["list-roots.json"]["Roots"]})
    lines = []
    while stack:
        parent, path = stack.pop(0)
        for kind in ("ous", "accounts"):
            if f"{kind}/{parent}.json" not in files:
                problems.append(f"{q}/organization/{kind}/{parent}.json is missing (the tree is walked from the roots)")
        for ou in files.get(f"ous/{parent}.json", {}).get("OrganizationalUnits", []):
            names[ou["Id"]] = ou["Name"]
            stack.append((ou["Id"], path + [ou["Id"]]))
        for a in files.get(f"accounts/{parent}.json", {}).get("Accounts", []):
            if a["Id"] in chain:
                problems.append(f"{q}: account {a['Id']} placed twice")
            chain[a["Id"]] = path + [a["Id"]]
            names[a["Id"]] = a["Name"]
            lines.append(" / ".join(names[x] for x in path) + f" / {a['Id']} {a['Name']} ({a.get('State', a['Status'])})"
                         + (" [management]" if a["Id"] == mgmt else ""))
    for line in sorted(lines):
        say("tree: " + line)
    problems += [f"{q}: list-accounts lists {a} but no parent holds it" for a in sorted(set(listed) - set(chain))]
    problems += [f"{q}: a parent holds {a} but list-accounts does not list it" for a in sorted(set(chain) - set(listed))]
    problems += [f"{q}: account folder {a} is not placed in the tree" for a in sorted(account_verdicts) if a not in chain]
    if mgmt in account_verdicts:
        problems.append(f"{q}: the management account {mgmt} has an account folder (the story says it is not exported)")

    # SCPs and RCPs: every listed policy has its describe-policy and targets files; what each blocks or restricts.
    attached = {}  # target -> [(type, name, document)]
    for ptype in ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"):
        for summary in files.get(f"policies/{ptype}.json", {}).get("Policies", []):
            pid = summary["Id"]
            if f"policy/{pid}.json" not in files or f"targets/{pid}.json" not in files:
                problems.append(f"{q}: {ptype} {pid} ({summary['Name']}) lacks policy/{pid}.json or targets/{pid}.json")
                continue
            pol = files[f"policy/{pid}.json"]["Policy"]
            if pol["PolicySummary"] != summary:
                problems.append(f"{q}: policy/{pid}.json's PolicySummary differs from policies/{ptype}.json")
            document = json.loads(pol["Content"])
            for t in files[f"targets/{pid}.json"]["Targets"]:
                if t["TargetId"] not in names:
                    problems.append(f"{q}: {summary['Name']} targets {t['TargetId']}, which is not in the tree")
                attached.setdefault(t["TargetId"], []).append((ptype, summary["Name"], document))
    for f in files:
        if f.startswith(("policy/", "targets/")):
            pid = f.split("/")[1][:-5]
            if not any(s["Id"] == pid for t in ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY")
                       for s in files.get(f"policies/{t}.json", {}).get("Policies", [])):
                problems.append(f"{q}/organization/{f}: policy {pid} is not listed in policies/")

    def deny_sets(ptype, account):
        """{policy name: (blocked, restricted)} for the policies of ptype above and on the account."""
        out = {}
        for target in chain[account]:
            for t, name, document in attached.get(target, []):
                if t != ptype:
                    continue
                stmts = document["Statement"]
                blocked, restricted = out.setdefault(name, (set(), set()))
                for st in [stmts] if isinstance(stmts, dict) else stmts:
                    if st["Effect"] != "Deny":
                        continue
                    acts = {f"{s}:{a}" for s, a in (matches(st["Action"]) if "Action" in st
                                                    else set(ALL_ACTIONS) - matches(st["NotAction"]))}
                    (restricted if "Condition" in st or st.get("Resource") not in ("*", ["*"]) else blocked).update(acts)
        return out

    for a in sorted(account_verdicts):
        if a not in chain:
            continue
        for level in chain[a]:  # an SCP must allow at every level, or nothing below it is allowed
            if not any(t == "SERVICE_CONTROL_POLICY" and any(
                    s["Effect"] == "Allow" and s.get("Action") in ("*", ["*"])
                    for s in (d["Statement"] if isinstance(d["Statement"], list) else [d["Statement"]]))
                       for t, _, d in attached.get(level, [])):
                problems.append(f"{q}: no SCP allowing * at {level} above {a}: everything there would be blocked")
        gaad = json.load(open(os.path.join(qdir, a, "authorization-details.json"), encoding="utf-8"))
        slr = {r["RoleName"] for r in gaad["RoleDetailList"] if r["Path"].startswith("/aws-service-role/")}
        for ptype, word in (("SERVICE_CONTROL_POLICY", "SCP"), ("RESOURCE_CONTROL_POLICY", "RCP")):
            for name, (blocked, restricted) in sorted(deny_sets(ptype, a).items()):
                if not blocked and not restricted:
                    continue
                hit_b, hit_r = {}, {}
                for (kind, pname), (_, res) in account_verdicts[a].items():
                    if kind == "role" and pname in slr:
                        continue  # SCPs and RCPs do not restrict service-linked roles
                    if blocked & set(res):
                        hit_b[f"{kind}/{pname}"] = len(blocked & set(res))
                    if restricted & set(res):
                        hit_r[f"{kind}/{pname}"] = len(restricted & set(res))
                facts[(a, name)] = (hit_b, hit_r)
                what = (f"blocks {sum(hit_b.values())} grants of {len(hit_b)} principals" if blocked
                        else f"restricts (Condition) {sum(hit_r.values())} grants of {len(hit_r)} principals")
                example = sorted(hit_b or hit_r)[:3]
                say(f"{word} {name:24} on {a}: {what}" + (f", e.g. {', '.join(example)}" if example else ""))
    if ("222222222222" in account_verdicts and chain.get("222222222222")):
        res = account_verdicts["222222222222"].get(("role", "platform-ops"), (None, {}))[1]
        sm = {x for x in res if x.startswith("sagemaker:")}
        blocked = deny_sets("SERVICE_CONTROL_POLICY", "222222222222").get("DenySageMaker", (set(), set()))[0]
        say(f"222222222222 role/platform-ops: {len(sm)} sagemaker grants, {len(sm & blocked)} of them blocked by DenySageMaker")
        if not sm or not sm <= blocked:
            problems.append(f"{q}: platform-ops's sagemaker grants are not all under DenySageMaker")

    # Identity Center: permission sets, their roles in the accounts, and the roll-up per permission set.
    sets = {}
    for inst in files.get("sso/list-instances.json", {}).get("Instances", []):
        iid = inst["InstanceArn"].rsplit("/", 1)[1]
        for arn in files.get(f"sso/{iid}/list-permission-sets.json", {}).get("PermissionSets", []):
            d = f"sso/{iid}/{arn.rsplit('/', 1)[1]}"
            need = ["describe-permission-set", "inline-policy", "managed-policies", "customer-managed-policies", "accounts"]
            if any(f"{d}/{n}.json" not in files for n in need):
                problems.append(f"{q}: {d}/ lacks one of {need}")
                continue
            ps = files[f"{d}/describe-permission-set.json"]["PermissionSet"]
            inline = files[f"{d}/inline-policy.json"]["InlinePolicy"]
            sets[ps["Name"]] = dict(
                arn=arn, session=ps["SessionDuration"], inline=json.loads(inline) if inline else None,
                managed=[m["Arn"] for m in files[f"{d}/managed-policies.json"]["AttachedManagedPolicies"]],
                customer=[(c["Path"], c["Name"]) for c in
                          files[f"{d}/customer-managed-policies.json"]["CustomerManagedPolicyReferences"]],
                accounts=files[f"{d}/accounts.json"]["AccountIds"])
    roles = {}  # (permission set, account) -> role name
    for a in sorted(account_verdicts):
        gaad = json.load(open(os.path.join(qdir, a, "authorization-details.json"), encoding="utf-8"))
        for r in gaad["RoleDetailList"]:
            m = SSO_ROLE_RE.match(r["RoleName"])
            if not (m and r["Path"].startswith("/aws-reserved/sso.amazonaws.com/")):
                continue
            ps = sets.get(m.group(1))
            if ps is None or a not in ps["accounts"]:
                problems.append(f"{q}: {a} role {r['RoleName']} maps to no permission set provisioned to {a}")
                continue
            roles[(m.group(1), a)] = r["RoleName"]
            want = set(ps["managed"]) | {f"arn:aws:iam::{a}:policy{p}{n}" for p, n in ps["customer"]}
            if {x["PolicyArn"] for x in r["AttachedManagedPolicies"]} != want:
                problems.append(f"{q}: {a} role {r['RoleName']}'s managed policies differ from permission set {m.group(1)}")
            inl = {x["PolicyName"]: x["PolicyDocument"] for x in r["RolePolicyList"]}
            if inl != ({"AwsSSOInlinePolicy": ps["inline"]} if ps["inline"] else {}):
                problems.append(f"{q}: {a} role {r['RoleName']}'s inline policy differs from permission set {m.group(1)}")
            customer = {p["Arn"] for p in gaad["Policies"]}
            problems += [f"{q}: {a} lacks customer managed policy {n} that permission set {m.group(1)} references"
                         for p, n in ps["customer"] if f"arn:aws:iam::{a}:policy{p}{n}" not in customer]
    for name, ps in sets.items():
        per_account, where = {}, []
        for a in ps["accounts"]:
            role = roles.get((name, a))
            has_file = role and os.path.exists(os.path.join(qdir, a, "last-accessed", "roles", role + ".json"))
            if a in account_verdicts and not role:
                problems.append(f"{q}: permission set {name} is provisioned to {a} but {a} has no AWSReservedSSO_{name}_* role")
            per_account[a] = account_verdicts[a][("role", role)][1] if has_file else None
            where.append(f"{a}: {role}" + ("" if has_file else " (no last-accessed file)" if role else "(no export)"))
        rollup = permission_set_rollup(per_account)
        facts[name] = rollup
        counts = {}
        for act, v in rollup.items():
            counts.setdefault(v, []).append(act)
        say(f"permission set {name} ({ps['session']}) -> " + "; ".join(where))
        for v in sorted(counts):
            say(f"    {v:40} {len(counts[v]):6}  e.g. {', '.join(sorted(counts[v])[:3])}")
    return problems, facts


def check(out):
    """Validate a sample-data tree; returns a list of problems (empty = good)."""
    problems = []
    for root, _, names in os.walk(out):
        for n in names:
            path = os.path.join(root, n)
            rel = os.path.relpath(path, out)
            if n.endswith(".json"):
                try:
                    json.load(open(path, encoding="utf-8"))
                except ValueError as e:
                    problems.append(f"{rel}: not JSON: {e}")
            if n == "credential-report.csv":
                rows = list(csv.reader(open(path, encoding="utf-8", newline="")))
                if rows[0] != CRED_HEADER:
                    problems.append(f"{rel}: header differs from the 22 AWS columns")
                problems += [f"{rel}:{i + 1}: {len(r)} columns" for i, r in enumerate(rows) if len(r) != 22]
                gaad = json.load(open(os.path.join(root, "authorization-details.json"), encoding="utf-8"))
                listed = {r[0] for r in rows[1:]}
                problems += [f"{rel}: user {u['UserName']} missing" for u in gaad["UserDetailList"] if u["UserName"] not in listed]
            if n == "authorization-details.json":
                gaad = json.load(open(path, encoding="utf-8"))
                names_ = {("role", r["RoleName"]) for r in gaad["RoleDetailList"]}
                names_ |= {("user", r["UserName"]) for r in gaad["UserDetailList"]}
                names_ |= {("group", r["GroupName"]) for r in gaad["GroupDetailList"]}
                for kind in ("role", "user", "group"):
                    d = os.path.join(root, "last-accessed", kind + "s")
                    for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
                        if (kind, f[:-5]) not in names_:
                            problems.append(f"{os.path.relpath(d, out)}/{f}: no such {kind} in authorization-details.json")
            if n == "manifest.json":
                m = json.load(open(path, encoding="utf-8"))
                for frel, digest in m["files"].items():
                    data = open(os.path.join(root, *frel.split("/")), "rb").read()
                    if hashlib.sha256(data).hexdigest() != digest:
                        problems.append(f"{rel}: sha256 of {frel} differs")
    accounts_of = lambda q: sorted(a for a in os.listdir(os.path.join(out, q)) if re.fullmatch(r"\d{12}", a))
    q3 = {a: verdicts(os.path.join(out, "2026-q3", a)) for a in accounts_of("2026-q3")}
    q4 = {a: verdicts(os.path.join(out, "2026-q4", a)) for a in accounts_of("2026-q4")}
    seen = {}
    for a, ps in q4.items():
        for key, (_, res) in ps.items():
            for act, v in res.items():
                seen.setdefault(v, []).append(f"{a} {key[0]}/{key[1]} {act}")
    print("q4 verdicts (count, first example):")
    for v in sorted(seen):
        print(f"  {v:45} {len(seen[v]):6}  {seen[v][0]}")
    wanted = ["used/accessed_in_window", "unused/action_not_accessed", "unused/action_last_accessed_before_window",
              "unused/service_not_accessed", "unknown/action_not_tracked", "unknown/not_observable",
              "unknown/principal_too_new", "unknown/no_last_accessed_data"]
    problems += [f"q4 shows no {v}" for v in wanted if v not in seen]
    kinds = {}
    for a in sorted(set(q3) | set(q4)):
        if a not in q4:
            kinds.setdefault("account_removed", []).append(a)
            continue
        for k, items in diff_kinds(q3.get(a, {}), q4[a]).items():
            kinds.setdefault(k, []).extend(f"{a} {i}" for i in items)
    print("q3 -> q4 changes (count, first example):")
    for k in sorted(kinds):
        print(f"  {k:20} {len(kinds[k]):6}  {kinds[k][0]}")
    problems += [f"q3->q4 shows no {k}" for k in ["revoked", "newly_granted", "newly_unused", "newly_used", "still_unused",
                                                   "unchanged_used", "principal_added", "principal_removed",
                                                   "principal_recreated", "account_removed"] if k not in kinds]
    facts = {}
    for q, per_account in (("2026-q3", q3), ("2026-q4", q4)):
        p, facts[q] = check_organization(os.path.join(out, q), q, per_account)
        problems += p
    problems += check_org_story(out, facts)
    return problems


def check_org_story(out, facts):
    """The organisation story that sample-data/README.md tells, as the check above computed it."""
    problems = []
    q4 = facts["2026-q4"]
    want = {  # permission set: {action: q4 verdict}
        "Developer": {"lambda:UpdateFunctionCode": "used", "lambda:GetFunction": "used", "ec2:DescribeInstances": "used",
                      "lambda:DeleteFunction": "unused", "ec2:DescribeVolumes": "unused", "s3:CreateBucket": "unused",
                      "cloudwatch:PutMetricData": "unused", "sqs:SendMessage": "unused", "events:PutEvents": "unused",
                      "states:StartExecution": "unused", "dynamodb:Query": "unknown/action_not_tracked",
                      "logs:FilterLogEvents": "unknown/action_not_tracked", "s3:GetObject": "unknown/not_observable"},
        "ReadOnly": {"iam:GetRole": "used", "iam:ListRoles": "used", "iam:ListUsers": "unknown/permission_set_incomplete",
                     "cloudtrail:LookupEvents": "unknown/permission_set_incomplete",
                     "ec2:DescribeInstances": "unknown/permission_set_incomplete"},
        "AdministratorAccess": {"iam:CreateRole": "used", "iam:DeleteRole": "unused", "sts:AssumeRole": "unknown/action_not_tracked",
                                "sagemaker:CreateNotebookInstance": "unused"},
    }
    for ps, acts in want.items():
        for act, v in acts.items():
            got = q4.get(ps, {}).get(act)
            if got != v:
                problems.append(f"2026-q4 permission set {ps} {act}: {got}, the story says {v}")
    for ps in want:
        statuses = {v.split("/")[0] for v in q4.get(ps, {}).values()}
        if ps != "ReadOnly" and statuses != {"used", "unused", "unknown"}:
            problems.append(f"2026-q4 permission set {ps} does not show used, unused and unknown: {sorted(statuses)}")
    if not any(v == "unknown/permission_set_incomplete" for v in q4.get("ReadOnly", {}).values()):
        problems.append("2026-q4 shows no unknown/permission_set_incomplete")
    hit_b, hit_r = q4.get(("111111111111", "DenyLeaveOrganization"), ({}, {}))
    if not any(k.startswith("role/BreakGlassAdmin") for k in hit_b):
        problems.append("2026-q4: DenyLeaveOrganization does not block BreakGlassAdmin's organizations:LeaveOrganization")
    hit_b, hit_r = q4.get(("222222222222", "ProtectSecurityTooling"), ({}, {}))
    if hit_b or "role/platform-ops" not in hit_r:
        problems.append("2026-q4: ProtectSecurityTooling should restrict (not block) platform-ops's guardduty:DeleteDetector")

    print("q3 -> q4 permission set changes:")

    def read(q):
        sets = {}
        base = os.path.join(out, q, "organization", "sso", SSO_INSTANCE_ID)
        for d in sorted(os.listdir(base)):
            if d.startswith("ps-"):
                load = lambda n: json.load(open(os.path.join(base, d, n + ".json"), encoding="utf-8"))
                sets[load("describe-permission-set")["PermissionSet"]["Name"]] = {
                    "managed": {m["Name"] for m in load("managed-policies")["AttachedManagedPolicies"]},
                    "accounts": set(load("accounts")["AccountIds"])}
        return sets

    old, new, changes = read("2026-q3"), read("2026-q4"), []
    empty = {"managed": set(), "accounts": set()}
    for name in sorted(set(old) | set(new)):
        o, n = old.get(name, empty), new.get(name, empty)
        changes += [f"{name}: managed policy {m} detached" for m in sorted(o["managed"] - n["managed"])]
        changes += [f"{name}: managed policy {m} attached" for m in sorted(n["managed"] - o["managed"])]
        changes += [f"{name}: no longer provisioned to {a}" for a in sorted(o["accounts"] - n["accounts"])]
        changes += [f"{name}: newly provisioned to {a}" for a in sorted(n["accounts"] - o["accounts"])]
        gone = sorted(set(facts["2026-q3"].get(name, {})) - set(facts["2026-q4"].get(name, {})))
        if gone:
            changes.append(f"{name}: {len(gone)} actions no longer granted, e.g. {', '.join(gone[:3])}")
    for c in changes:
        print(f"  {c}")
    if "Developer: managed policy AmazonS3ReadOnlyAccess detached" not in changes:
        problems.append("q3->q4 shows no permission set change (Developer's AmazonS3ReadOnlyAccess)")
    return problems


def generate(out, managed_policies=None):
    """Write out/2026-q3 and out/2026-q4 (and refresh out/sources/ from managed_policies if given)."""
    subset_path = os.path.join(out, "sources", "aws-managed-policies.json")
    if managed_policies:
        full = managed_source(managed_policies)
        subset = {n: {"VersionId": full[n]["VersionId"], "CreateDate": full[n]["CreateDate"], "Document": full[n]["Document"]}
                  for n in sorted(AWS_MANAGED)}
        os.makedirs(os.path.dirname(subset_path), exist_ok=True)
        with open(subset_path, "wb") as f:
            f.write((json.dumps(subset, indent=1, sort_keys=True) + "\n").encode())
    if not os.path.exists(subset_path):
        sys.exit(f"{subset_path} is missing; run with --managed-policies ../shared/data/aws-managed-policies.json")
    aws_docs = managed_source(subset_path)
    missing = sorted(set(AWS_MANAGED) - set(aws_docs))
    if missing:
        sys.exit(f"{subset_path} lacks {missing}; run with --managed-policies ../shared/data/aws-managed-policies.json")

    total = 0
    for q in QUARTERS:
        qdir = os.path.join(out, q)
        if os.path.isdir(qdir):
            shutil.rmtree(qdir)
        for account in ACCOUNTS:
            if account == "333333333333" and q != "2026-q3":
                continue  # closed between the quarters
            for rel, data in build_export(account, q, aws_docs).items():
                path = os.path.join(qdir, account, *rel.split("/"))
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as f:
                    f.write(data)
                total += len(data)
        for rel, data in build_organization(q).items():
            path = os.path.join(qdir, "organization", *rel.split("/"))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
            total += len(data)
    print(f"wrote {out}/2026-q3 and {out}/2026-q4 ({total} bytes)", file=sys.stderr)


def stale_files(out):
    """Files of out/2026-q* that a fresh run into a temporary folder would not write identically."""
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(os.path.join(out, "sources"), os.path.join(tmp, "sources"))
        generate(tmp)
        bad = []
        for q in QUARTERS:
            stack = [filecmp.dircmp(os.path.join(out, q), os.path.join(tmp, q))]
            while stack:
                c = stack.pop()
                bad += [os.path.join(c.left, f) for f in c.left_only + c.right_only + c.diff_files]
                stack += c.subdirs.values()
        return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(REPO, "sample-data"))
    ap.add_argument("--managed-policies", metavar="FILE",
                    help="refresh <out>/sources/aws-managed-policies.json from this {name: {VersionId, CreateDate, Document}} dump")
    ap.add_argument("--check", action="store_true",
                    help="regenerate into a temporary folder, require identical bytes, and validate the tree")
    args = ap.parse_args()
    if not args.check:
        generate(args.out, args.managed_policies)
        return
    problems = [f"differs from a fresh run: {b}" for b in stale_files(args.out)]
    problems += check(args.out)
    for p in problems:
        print("PROBLEM:", p)
    print("sample data OK" if not problems else f"{len(problems)} problem(s)")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
