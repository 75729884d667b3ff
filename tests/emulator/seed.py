"""Seeds the emulator's IAM with the principals tests/fetch.rs expects (see last-accessed.json).

    .venv-emulator/bin/python tests/emulator/seed.py http://127.0.0.1:PORT [ACCOUNT ...]
    .venv-emulator/bin/python tests/emulator/seed.py http://127.0.0.1:PORT --organization
    .venv-emulator/bin/python tests/emulator/seed.py http://127.0.0.1:PORT --roundtrip

Without ACCOUNT, seeds moto's default account (123456789012, the `test` access key). With
account ids, seeds each of them instead, through credentials from sts:AssumeRole into
arn:aws:iam::ACCOUNT:role/seed: moto keeps one IAM per account and picks the account from the
access key of the assumed-role session.

--roundtrip seeds the default account and then the principals of tests/roundtrip.rs (seed_roundtrip):
a wildcard, customer managed policies shared by two principals (one that both would tighten alike,
one they would not), an AWS managed policy to replace with a copy, an Allow NotAction, and a group
whose members use different parts of its policy; then (seed_roundtrip_permission_set) an
organisation of that one account with an IAM Identity Center permission set provisioned to it, and
the set's AWSReservedSSO_ role, and prints the ids as JSON. The emulator must run with
MOTO_IAM_LOAD_MANAGED_POLICIES=true (server.py --aws-managed-policies) for the AWS managed policies
to exist. The other tests do not seed these, so their exports are unchanged.
"""

import json
import sys

import boto3


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions, resource="*"):
    return {"Effect": "Allow", "Action": actions, "Resource": resource}


TRUST_EC2 = doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})


def client(endpoint, service, account=None):
    keys = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
    if account is not None:
        sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1", **keys)
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/seed", RoleSessionName="seed")["Credentials"]
        keys = {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        }
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", **keys)


def main(endpoint, accounts):
    if accounts == ["--roundtrip"]:
        iam = client(endpoint, "iam")
        seed(endpoint, iam)
        seed_roundtrip(iam)
        print(json.dumps(seed_roundtrip_permission_set(endpoint, iam)))
        return
    if accounts == ["--organization"]:
        seed(endpoint, client(endpoint, "iam"))
        print(json.dumps(seed_organization(endpoint)))
        return
    for account in accounts or [None]:
        seed(endpoint, client(endpoint, "iam", account))


SCP = {"Version": "2012-10-17", "Statement": [{"Sid": "NoEc2", "Effect": "Deny", "Action": "ec2:*", "Resource": "*"}]}
DEV_INLINE = {"Version": "2012-10-17", "Statement": [allow(["lambda:InvokeFunction", "logs:GetLogEvents"])]}


def seed_organization(endpoint):
    org = client(endpoint, "organizations")
    org_id = org.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    root = org.list_roots()["Roots"][0]["Id"]
    for policy_type in ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"):
        org.enable_policy_type(RootId=root, PolicyType=policy_type)
    workloads = org.create_organizational_unit(ParentId=root, Name="workloads")["OrganizationalUnit"]["Id"]
    prod = org.create_organizational_unit(ParentId=workloads, Name="prod")["OrganizationalUnit"]["Id"]

    def account(name, parent):
        made = org.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]["AccountId"]
        if parent != root:
            org.move_account(AccountId=made, SourceParentId=root, DestinationParentId=parent)
        return made

    dev = account("dev", workloads)
    shop = account("shop", prod)
    closed = account("closed", root)
    org.close_account(AccountId=closed)

    scp = org.create_policy(
        Name="deny-ec2", Description="no EC2 in workloads", Type="SERVICE_CONTROL_POLICY", Content=json.dumps(SCP)
    )["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=scp, TargetId=workloads)
    rcp_doc = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OrgOnly",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": org_id}},
            }
        ],
    }
    rcp = org.create_policy(
        Name="org-only-s3", Description="S3 only for the org", Type="RESOURCE_CONTROL_POLICY", Content=json.dumps(rcp_doc)
    )["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=rcp, TargetId=prod)

    sso = client(endpoint, "sso-admin")
    instance = sso.list_instances()["Instances"][0]["InstanceArn"]

    def permission_set(name, description, accounts):
        arn = sso.create_permission_set(InstanceArn=instance, Name=name, Description=description, SessionDuration="PT4H")[
            "PermissionSet"
        ]["PermissionSetArn"]
        for target in accounts:
            sso.provision_permission_set(InstanceArn=instance, PermissionSetArn=arn, TargetType="AWS_ACCOUNT", TargetId=target)
        return arn

    management = org.describe_organization()["Organization"]["MasterAccountId"]
    admin = permission_set("AdministratorAccess", "full access", [management, dev])
    sso.attach_managed_policy_to_permission_set(
        InstanceArn=instance, PermissionSetArn=admin, ManagedPolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"
    )
    readonly = permission_set("ReadOnly", "read everything", [dev, shop])
    sso.attach_managed_policy_to_permission_set(
        InstanceArn=instance, PermissionSetArn=readonly, ManagedPolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess"
    )
    developer = permission_set("Developer", "builds the app", [dev])
    sso.put_inline_policy_to_permission_set(InstanceArn=instance, PermissionSetArn=developer, InlinePolicy=json.dumps(DEV_INLINE))
    sso.attach_customer_managed_policy_reference_to_permission_set(
        InstanceArn=instance, PermissionSetArn=developer, CustomerManagedPolicyReference={"Name": "dev-extra", "Path": "/teams/"}
    )
    sso.put_permissions_boundary_to_permission_set(
        InstanceArn=instance,
        PermissionSetArn=developer,
        PermissionsBoundary={"CustomerManagedPolicyReference": {"Name": "dev-boundary", "Path": "/"}},
    )
    return {
        "organization": org_id,
        "root": root,
        "management": management,
        "ous": {"workloads": workloads, "prod": prod},
        "accounts": {"dev": dev, "shop": shop, "closed": closed},
        "policies": {"scp": scp, "rcp": rcp, "scp_document": SCP, "rcp_document": rcp_doc},
        "instance": instance,
        "permission_sets": {"admin": admin, "readonly": readonly, "developer": developer},
        "dev_inline": DEV_INLINE,
    }


def seed(endpoint, iam):
    deploy = iam.create_policy(
        PolicyName="deploy",
        Description="deploys the app",
        PolicyDocument=doc(allow(["ec2:RunInstances"])),
    )["Policy"]["Arn"]
    # A second, default version: GAAD lists both, the tool evaluates v2.
    iam.create_policy_version(
        PolicyArn=deploy,
        PolicyDocument=doc(allow(["ec2:RunInstances", "ec2:DescribeInstances"]), allow("s3:GetObject", "arn:aws:s3:::app-artifacts/*")),
        SetAsDefault=True,
    )

    iam.create_role(RoleName="app-deployer", AssumeRolePolicyDocument=TRUST_EC2, Tags=[{"Key": "team", "Value": "platform"}])
    iam.attach_role_policy(RoleName="app-deployer", PolicyArn=deploy)
    iam.put_role_policy(RoleName="app-deployer", PolicyName="inline-iam", PolicyDocument=doc(allow("iam:ListRoles")))
    iam.create_instance_profile(InstanceProfileName="app-deployer")
    iam.add_role_to_instance_profile(InstanceProfileName="app-deployer", RoleName="app-deployer")

    for name, action in [("flaky-batch", "lambda:InvokeFunction"), ("legacy-batch", "sqs:SendMessage")]:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_EC2, Path="/batch/")
        iam.put_role_policy(RoleName=name, PolicyName="work", PolicyDocument=doc(allow(action)))

    iam.create_role(RoleName="readonly-audit", AssumeRolePolicyDocument=TRUST_EC2, Description="auditors")
    iam.put_role_policy(RoleName="readonly-audit", PolicyName="audit", PolicyDocument=doc(allow(["iam:GetRole", "iam:ListRoles"])))

    iam.create_group(GroupName="devs")
    iam.put_group_policy(GroupName="devs", PolicyName="read", PolicyDocument=doc(allow("s3:ListAllMyBuckets")))
    iam.create_user(UserName="alice")
    iam.add_user_to_group(GroupName="devs", UserName="alice")
    iam.create_user(UserName="ci-bot", Path="/automation/")
    iam.put_user_policy(UserName="ci-bot", PolicyName="queue", PolicyDocument=doc(allow("sqs:SendMessage", "arn:aws:sqs:eu-west-1:123456789012:builds")))
    iam.create_access_key(UserName="ci-bot")
    print("seeded", endpoint, file=sys.stderr)


def seed_roundtrip(iam):
    """What tests/roundtrip.rs applies the recommendations to (last-accessed.json says what each
    principal used; the comments say what the plan should do)."""
    managed = {}
    for name, actions in [
        # Both etl-runner and report-reader use only s3:ListAllMyBuckets: one new version.
        ("shared-s3", ["s3:ListAllMyBuckets", "s3:DeleteBucket"]),
        # etl-runner uses both, report-reader one: the two disagree, report-reader gets a copy.
        ("shared-ec2", ["ec2:DescribeInstances", "ec2:TerminateInstances"]),
    ]:
        managed[name] = iam.create_policy(PolicyName=name, PolicyDocument=doc(allow(actions)))["Policy"]["Arn"]

    iam.create_role(RoleName="etl-runner", AssumeRolePolicyDocument=TRUST_EC2, Path="/etl/")
    # A wildcard of a used service: replaced by the explicit list of what stays.
    iam.put_role_policy(RoleName="etl-runner", PolicyName="pipeline", PolicyDocument=doc(allow(["lambda:*"])))
    for name in ("shared-s3", "shared-ec2"):
        iam.attach_role_policy(RoleName="etl-runner", PolicyArn=managed[name])
    # AWS managed: cannot be edited, so replaced by a tightened customer managed copy.
    iam.attach_role_policy(RoleName="etl-runner", PolicyArn="arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess")

    iam.create_user(UserName="report-reader")
    for name in ("shared-s3", "shared-ec2"):
        iam.attach_user_policy(UserName="report-reader", PolicyArn=managed[name])

    # Allow NotAction: rewritten into the explicit Action form of what stays (flagged for a human).
    everything_but_iam = {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}
    iam.create_role(RoleName="almost-admin", AssumeRolePolicyDocument=TRUST_EC2)
    iam.put_role_policy(RoleName="almost-admin", PolicyName="most", PolicyDocument=doc(everything_but_iam))

    # A group whose members use different parts of its policy: bob uses two EC2 Describe actions,
    # carol nothing; the group keeps what either member uses.
    iam.create_group(GroupName="ops")
    iam.put_group_policy(GroupName="ops", PolicyName="ops", PolicyDocument=doc(allow(["ec2:Describe*", "ec2:RebootInstances"])))
    for user in ("bob", "carol"):
        iam.create_user(UserName=user)
        iam.add_user_to_group(GroupName="ops", UserName=user)


# The permission set tests/roundtrip.rs tightens, and its role (see seed_roundtrip_permission_set).
SSO_SET = "DataAnalyst"
SSO_ROLE = "AWSReservedSSO_DataAnalyst_0a1b2c3d4e5f6a7b"
SSO_ROLE_PATH = "/aws-reserved/sso.amazonaws.com/us-east-1/"
SSO_INLINE = {
    "Version": "2012-10-17",
    "Statement": [
        # s3:ListAllMyBuckets used, s3:DeleteBucket not: narrowed. The Deny stays as it is.
        {"Sid": "Buckets", "Effect": "Allow", "Action": ["s3:ListAllMyBuckets", "s3:DeleteBucket"], "Resource": "*"},
        {"Sid": "NoBucketPolicy", "Effect": "Deny", "Action": "s3:PutBucketPolicy", "Resource": "*"},
    ],
}
SSO_MANAGED = [
    # Two of its six actions used: detached, what it keeps merged into the inline policy.
    "arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess",
    # Kinesis never used: detached, nothing kept.
    "arn:aws:iam::aws:policy/AmazonKinesisReadOnlyAccess",
    # SSM used without action-level data (unknown): stays attached.
    "arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess",
]


def seed_roundtrip_permission_set(endpoint, iam):
    """The default account as the management account of an organisation with no other account,
    and in moto's Identity Center instance the permission set DataAnalyst (SSO_INLINE, SSO_MANAGED,
    a customer managed policy reference to /teams/analyst-extra), assigned to a group and
    provisioned to that account. moto makes no role in IAM for a set: its role, SSO_ROLE, is
    made here before provisioning, and server.py's ProvisionPermissionSet gives it the set's
    policies, as Identity Center does (its last-accessed answer is in last-accessed.json).
    Prints the ids, as --organization does."""
    org = client(endpoint, "organizations")
    org_id = org.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    account = org.describe_organization()["Organization"]["MasterAccountId"]
    iam.create_policy(PolicyName="analyst-extra", Path="/teams/", PolicyDocument=doc(allow("sqs:GetQueueUrl")))
    trust = doc(
        {
            "Effect": "Allow",
            "Principal": {"Federated": f"arn:aws:iam::{account}:saml-provider/AWSSSO_0123456789abcdef_DO_NOT_DELETE"},
            "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"],
            "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}},
        }
    )
    iam.create_role(RoleName=SSO_ROLE, Path=SSO_ROLE_PATH, AssumeRolePolicyDocument=trust, MaxSessionDuration=43200)

    sso = client(endpoint, "sso-admin")
    instance = sso.list_instances()["Instances"][0]["InstanceArn"]
    arn = sso.create_permission_set(InstanceArn=instance, Name=SSO_SET, Description="analysts", SessionDuration="PT8H")[
        "PermissionSet"
    ]["PermissionSetArn"]
    sso.put_inline_policy_to_permission_set(InstanceArn=instance, PermissionSetArn=arn, InlinePolicy=json.dumps(SSO_INLINE))
    for managed in SSO_MANAGED:
        sso.attach_managed_policy_to_permission_set(InstanceArn=instance, PermissionSetArn=arn, ManagedPolicyArn=managed)
    sso.attach_customer_managed_policy_reference_to_permission_set(
        InstanceArn=instance, PermissionSetArn=arn, CustomerManagedPolicyReference={"Name": "analyst-extra", "Path": "/teams/"}
    )
    sso.create_account_assignment(
        InstanceArn=instance,
        TargetId=account,
        TargetType="AWS_ACCOUNT",
        PermissionSetArn=arn,
        PrincipalType="GROUP",
        PrincipalId="9067c1e5a3-analysts",
    )
    sso.provision_permission_set(InstanceArn=instance, PermissionSetArn=arn, TargetType="AWS_ACCOUNT", TargetId=account)
    return {"organization": org_id, "management": account, "instance": instance, "permission_set": arn, "role": SSO_ROLE}


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
