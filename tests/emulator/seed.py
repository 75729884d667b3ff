"""Seeds the emulator's IAM with the principals tests/fetch.rs expects (see last-accessed.json).

    .venv-emulator/bin/python tests/emulator/seed.py http://127.0.0.1:PORT [ACCOUNT ...]

Without ACCOUNT, seeds moto's default account (123456789012, the `test` access key). With
account ids, seeds each of them instead, through credentials from sts:AssumeRole into
arn:aws:iam::ACCOUNT:role/seed: moto keeps one IAM per account and picks the account from the
access key of the assumed-role session.
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
    for account in accounts or [None]:
        seed(endpoint, client(endpoint, "iam", account))


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
    print("seeded", endpoint)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
