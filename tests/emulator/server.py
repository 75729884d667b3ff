"""moto_server 5.2.5 plus the two IAM calls moto lacks, for tests/fetch.rs.

    .venv-emulator/bin/python tests/emulator/server.py --port 5077 [--fixtures FILE] [--job-seconds S]
    .venv-emulator/bin/python tests/emulator/server.py --port 0 --port-file FILE ...

moto implements GAAD, the credential report and STS GetCallerIdentity, but not
GenerateServiceLastAccessedDetails / GetServiceLastAccessedDetails (reference §6). We add both as
methods of moto's IamResponse, so they go through moto's own request parsing and its
model-driven XML serializer (botocore's IAM service model names every element).

Fixture file (default: last-accessed.json beside this file), keyed by "role/Name" / "user/Name":
    services           ServicesLastAccessed entries, CLI JSON shape (timestamps as strings)
    page_size          cap on MaxItems, to force IsTruncated/Marker pages
    in_progress_polls  Get returns IN_PROGRESS this many times per job
    fail_jobs          the first N jobs of this principal end FAILED (with Error)
    throttle_generate  the first N Generate calls for this principal answer Throttling
    throttle_get       the first N Get calls of each job answer Throttling
    job_created / job_completed  the job dates
Times are RFC 3339 or relative to the emulator's start (`now+200d`): roles are created when the
test seeds them, so "200 days later" makes them old enough to be judged, and two fetches against
one emulator still get the same bytes.
A principal without an entry gets a COMPLETED job with no services. --job-seconds (or env
IAM_EMULATOR_JOB_SECONDS) keeps every job IN_PROGRESS for that long, for the resume test.
As in IAM, a job can only be read with the access key that generated it (NoSuchEntity otherwise).
--deny-assume-role ACCOUNT (repeatable) makes sts:AssumeRole into any role of ACCOUNT answer
AccessDenied, for the multi-account tests; moto itself accepts every role ARN.
--always-throttle KEY (repeatable, e.g. role/readonly-audit) makes every Generate call for that
principal answer Throttling: IAM throttling a caller for longer than any retry budget, which moto
cannot do.
--aws-managed-policies loads AWS's managed policies (arn:aws:iam::aws:policy/...) into every
account, as in IAM, so that they can be attached (tests/roundtrip.rs); GAAD then lists all of them
(about 1,600: a 10 MB authorization-details.json), which is why the other tests go without.

For `fetch --organization` (Organizations and IAM Identity Center, which moto implements mostly):
--org-page-size N caps MaxResults of every paginated Organizations and sso-admin list call, so
both the fetch and the AWS CLI must merge pages (moto's default pages hold 20 or 100 items).
moto has no permissions boundary for a permission set: Put/Get/DeletePermissionsBoundary
{To,For,From}PermissionSet are added (Get answers ResourceNotFoundException without one, as AWS
does). moto provisions every permission set to the caller's account only and answers
ListAccountsForProvisionedPermissionSet with that one account: ProvisionPermissionSet here
records its TargetId (TargetType AWS_ACCOUNT), and ListAccountsForProvisionedPermissionSet lists
those accounts, in the order provisioned, in pages. moto makes no role in IAM for a permission set:
seed.py makes them (`AWSReservedSSO_<set>_<hash>` under /aws-reserved/sso.amazonaws.com/), and
ProvisionPermissionSet here (TargetType AWS_ACCOUNT, or ALL_PROVISIONED_ACCOUNTS: every account
provisioned before) rewrites each such role of the set in the target accounts to the set's
definition, as Identity Center does: its inline policy (AwsSSOInlinePolicy), its AWS managed
policies and its customer managed policies (by path and name in that account), nothing else.
Identity Center provisions asynchronously: ProvisionPermissionSet answers Status IN_PROGRESS (moto
answers SUCCEEDED) with a RequestId, and DescribePermissionSetProvisioningStatus (which moto lacks)
answers that request IN_PROGRESS once more, then SUCCEEDED (FAILED, with a FailureReason, while
/_emulator/provision/fail/on is set). The roles are rewritten at once.

Control endpoints (answered by this server, not moto; reachable even during an outage):
    GET /_emulator/calls        JSON list of [action, key] for every Generate/Get last-accessed
                                call so far ("Generate", "role/app-deployer"), in order, and
                                every ProvisionPermissionSet ("Provision", "<set ARN> <TargetType>")
                                and DescribePermissionSetProvisioningStatus
                                ("DescribeProvisioning", "<request id>")
    GET /_emulator/outage/on    simulate a lost network: from now on every other request's
                                connection is closed without an answer (moto has no such mode)
    GET /_emulator/outage/off   end the outage
    GET /_emulator/deny/sso-admin/on   every sso-admin (IAM Identity Center) call answers
                                AccessDeniedException, as for a caller without sso:* permissions
    GET /_emulator/deny/sso-admin/off  answer them again
    GET /_emulator/provision/fail/on   provisioning requests end FAILED (DescribePermissionSet-
                                ProvisioningStatus), as when Identity Center cannot update a role
    GET /_emulator/provision/fail/off  end SUCCEEDED again
    GET /_emulator/fail/gaad/on   GetAccountAuthorizationDetails answers ServiceFailure (HTTP 500),
                                as when IAM fails that call for longer than any retry budget
    GET /_emulator/fail/gaad/off  answer it again
"""

import argparse
import datetime
import socket
import json
import os
import re
import sys
import threading
import time
import uuid

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.iam.responses import IamResponse
from moto.moto_server.threaded_moto_server import DomainDispatcherApplication, create_backend_app
from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.serving import make_server

HERE = os.path.dirname(os.path.abspath(__file__))
# Where Identity Center puts a permission set's roles, and the name of their inline policy.
SSO_PATH = "/aws-reserved/sso.amazonaws.com/"
SSO_INLINE = "AwsSSOInlinePolicy"


class Throttling(ServiceException):
    code = "Throttling"
    message = "Rate exceeded"


class NoSuchEntity(ServiceException):
    code = "NoSuchEntity"


class InvalidInput(ServiceException):
    code = "InvalidInput"


class AccessDenied(ServiceException):
    code = "AccessDenied"


STATE = {
    "t0": datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0),
    "fixtures": {},
    "job_seconds": 0.0,
    "lock": threading.Lock(),
    "jobs": {},  # job id -> dict
    "generated": {},  # principal key -> Generate calls so far
    "jobs_per_principal": {},  # principal key -> jobs created so far
    "calls": [],  # (action, key) log, served at /_emulator/calls
    "deny_assume_role": set(),  # account ids whose roles cannot be assumed
    "always_throttle": set(),  # principal keys whose Generate calls always answer Throttling
    "outage": False,  # GET /_emulator/outage/on: close every connection without an answer
    "deny_sso": False,  # GET /_emulator/deny/sso-admin/on: sso-admin answers AccessDeniedException
    "org_page_size": None,  # --org-page-size: cap on MaxResults of Organizations/sso-admin lists
    "boundaries": {},  # (instance arn, permission set arn) -> PermissionsBoundary
    "provisioning": {},  # ProvisionPermissionSet request id -> its status, as Describe answers it
    "provision_fail": False,
    "fail_gaad": False,  # GET /_emulator/fail/gaad/on: GetAccountAuthorizationDetails fails  # GET /_emulator/provision/fail/on: provisioning requests end FAILED
    "provisioned": {},  # (instance arn, permission set arn) -> [account id] in provisioning order
}


def parse_time(text):
    """An RFC 3339 time, or `now+200d`, `now+200d+3.512s`, `now-5h`: relative to the emulator's
    start, truncated to the minute, so every fetch against one emulator sees the same dates."""
    if not text.startswith("now"):
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    offset = 0.0
    for sign, number, unit in re.findall(r"([+-])([0-9.]+)([dhms])", text[3:]):
        offset += (1 if sign == "+" else -1) * float(number) * units[unit]
    return STATE["t0"] + datetime.timedelta(seconds=offset)


def principal_key(arn):
    # arn:aws:iam::123456789012:role/path/Name -> role/Name
    try:
        resource = arn.split(":", 5)[5]
    except IndexError:
        raise InvalidInput(f"Invalid ARN {arn}")
    kind, _, rest = resource.partition("/")
    if kind not in ("role", "user", "group", "policy") or not rest:
        raise InvalidInput(f"Invalid ARN {arn}")
    return f"{kind}/{rest.rsplit('/', 1)[-1]}"


def in_account(entity, account):
    # The fixture's entities name moto's default account; a job of another account names its own
    # (as AWS does: a role's report names the role itself, and `report` checks it).
    return entity.replace(":123456789012:", f":{account}:", 1)


def services_for(fixture, account):
    out = []
    for svc in fixture.get("services", []):
        s = dict(svc)
        if "LastAuthenticated" in s:
            s["LastAuthenticated"] = parse_time(s["LastAuthenticated"])
        if "LastAuthenticatedEntity" in s:
            s["LastAuthenticatedEntity"] = in_account(s["LastAuthenticatedEntity"], account)
        if "TrackedActionsLastAccessed" in s:
            tracked = []
            for a in s["TrackedActionsLastAccessed"]:
                a = dict(a)
                if "LastAccessedTime" in a:
                    a["LastAccessedTime"] = parse_time(a["LastAccessedTime"])
                if "LastAccessedEntity" in a:
                    a["LastAccessedEntity"] = in_account(a["LastAccessedEntity"], account)
                tracked.append(a)
            s["TrackedActionsLastAccessed"] = tracked
        out.append(s)
    return out


def generate_service_last_accessed_details(self):
    arn = self._get_param("Arn")
    granularity = self._get_param("Granularity") or "SERVICE_LEVEL"
    key = principal_key(arn)
    fixture = STATE["fixtures"].get(key, {})
    with STATE["lock"]:
        STATE["calls"].append(("Generate", key))
        n = STATE["generated"].get(key, 0) + 1
        STATE["generated"][key] = n
        if n <= fixture.get("throttle_generate", 0) or key in STATE["always_throttle"]:
            raise Throttling()
        job_no = STATE["jobs_per_principal"].get(key, 0) + 1
        STATE["jobs_per_principal"][key] = job_no
        job_id = str(uuid.uuid4())
        STATE["jobs"][job_id] = {
            "key": key,
            "account": arn.split(":")[4],
            "granularity": granularity,
            "polls": 0,
            "gets": 0,
            "started": time.monotonic(),
            "failed": job_no <= fixture.get("fail_jobs", 0),
            "owner": self.get_access_key(),
        }
    return ActionResult({"JobId": job_id})


def get_service_last_accessed_details(self):
    job_id = self._get_param("JobId")
    max_items = int(self._get_param("MaxItems") or 100)
    marker = self._get_param("Marker")
    with STATE["lock"]:
        job = STATE["jobs"].get(job_id)
        if job is None or job["owner"] != self.get_access_key():
            raise NoSuchEntity(f"Job {job_id} not found")
        key = job["key"]
        STATE["calls"].append(("Get", key))
        fixture = STATE["fixtures"].get(key, {})
        job["gets"] += 1
        if job["gets"] <= fixture.get("throttle_get", 0):
            raise Throttling()
        created = parse_time(fixture.get("job_created", "now+200d+3.512s"))
        result = {"JobType": job["granularity"], "JobCreationDate": created}
        running = time.monotonic() - job["started"] < STATE["job_seconds"]
        if running or job["polls"] < fixture.get("in_progress_polls", 0):
            job["polls"] += 1
            result.update({"JobStatus": "IN_PROGRESS", "ServicesLastAccessed": [], "IsTruncated": False})
            return ActionResult(result)
    completed = parse_time(fixture.get("job_completed", "now+200d+5.118s"))
    if job["failed"]:
        result.update(
            {
                "JobStatus": "FAILED",
                "ServicesLastAccessed": [],
                "JobCompletionDate": completed,
                "IsTruncated": False,
                "Error": {"Message": "An internal error occurred while generating the report", "Code": "ServiceFailure"},
            }
        )
        return ActionResult(result)
    services = services_for(fixture, job["account"])
    if job["granularity"] != "ACTION_LEVEL":
        for s in services:
            s.pop("TrackedActionsLastAccessed", None)
    page_size = min(max_items, fixture.get("page_size", max_items))
    start = int(marker) if marker else 0
    page = services[start : start + page_size]
    truncated = start + page_size < len(services)
    result.update(
        {
            "JobStatus": "COMPLETED",
            "ServicesLastAccessed": page,
            "JobCompletionDate": completed,
            "IsTruncated": truncated,
        }
    )
    if truncated:
        result["Marker"] = str(start + page_size)
    return ActionResult(result)


def get_credential_report(self):
    """moto's, generated on the emulator's clock (moto says 2015-02-02T20:02:02Z): after the
    jobs' default completion (now+200d+5.118s), as AWS's is when fetch asks for it last."""
    with STATE["lock"]:
        STATE["calls"].append(("GetCredentialReport", ""))
    result = {
        "Content": self.backend.get_credential_report(),
        "ReportFormat": "text/csv",
        "GeneratedTime": parse_time("now+200d+6s"),
    }
    return ActionResult(result)


class ServiceFailure(ServiceException):
    code = "ServiceFailure"


class ResourceNotFound(ServiceException):
    code = "ResourceNotFoundException"


def capped_int_param(original):
    """`_get_int_param` of a response class, with MaxResults capped at --org-page-size."""

    def get_int_param(self, name, if_none=None):
        value = original(self, name, if_none)
        cap = STATE["org_page_size"]
        if name == "MaxResults" and cap:
            return min(value or cap, cap)
        return value

    return get_int_param


def provision_roles(ps, account):
    """What Identity Center does on provisioning, for the roles seed.py made (moto makes none):
    the set's role in `account` (`AWSReservedSSO_<set>_<hash>` under SSO_PATH) gets the set's
    inline policy (as AwsSSOInlinePolicy), AWS managed policies and customer managed policies
    (that account's policy of that path and name), and loses every other. An account whose IAM
    moto has not made yet has no such role: left alone (made, it would change nothing)."""
    from moto.iam.models import iam_backends

    if account not in iam_backends:
        return
    iam = iam_backends[account]["global"]
    prefix = f"AWSReservedSSO_{ps.name}_"
    wanted = [m.arn for m in ps.managed_policies]
    wanted += [f"arn:aws:iam::{account}:policy{c.path}{c.name}" for c in ps.customer_managed_policies]
    for role in list(iam.roles.values()):
        if not (role.path.startswith(SSO_PATH) and role.name.startswith(prefix)):
            continue
        if ps.inline_policy:
            iam.put_role_policy(role.name, SSO_INLINE, ps.inline_policy)
        elif SSO_INLINE in role.policies:
            iam.delete_role_policy(role.name, SSO_INLINE)
        for arn in [a for a in role.managed_policies if a not in wanted]:
            iam.detach_role_policy(arn, role.name)
        for arn in [a for a in wanted if a not in role.managed_policies]:
            iam.attach_role_policy(arn, role.name)


def install_sso_admin():
    """What moto's sso-admin lacks: permissions boundaries, and provisioning to named accounts."""
    from moto.ssoadmin.responses import SSOAdminResponse

    def permission_set(self):
        instance_arn = self._get_param("InstanceArn")
        ps_arn = self._get_param("PermissionSetArn")
        # Raises ResourceNotFoundException for an unknown permission set, as AWS does.
        self.ssoadmin_backend._find_permission_set(instance_arn, ps_arn)
        return instance_arn, ps_arn

    def put_permissions_boundary_to_permission_set(self):
        key = permission_set(self)
        STATE["boundaries"][key] = self._get_param("PermissionsBoundary")
        return json.dumps({})

    def get_permissions_boundary_for_permission_set(self):
        key = permission_set(self)
        if key not in STATE["boundaries"]:
            raise ResourceNotFound(f"Could not find PermissionsBoundary for PermissionSet {key[1].rsplit('/', 1)[-1]}")
        return json.dumps({"PermissionsBoundary": STATE["boundaries"][key]})

    def delete_permissions_boundary_from_permission_set(self):
        STATE["boundaries"].pop(permission_set(self), None)
        return json.dumps({})

    moto_provision = SSOAdminResponse.provision_permission_set

    def provision_permission_set(self):
        key = permission_set(self)
        target_type = self._get_param("TargetType")
        accounts = STATE["provisioned"].setdefault(key, [])
        with STATE["lock"]:
            STATE["calls"].append(("Provision", f"{key[1]} {target_type}"))
        if target_type == "AWS_ACCOUNT":
            target = self._get_param("TargetId")
            if target not in accounts:
                accounts.append(target)
            targets = [target]
        else:
            # ALL_PROVISIONED_ACCOUNTS: the accounts it was provisioned to before.
            targets = list(accounts)
        ps = self.ssoadmin_backend._find_permission_set(*key)
        for account in targets:
            provision_roles(ps, account)
        # Identity Center answers before it has provisioned: IN_PROGRESS, then (Describe) the end.
        answer = json.loads(moto_provision(self))
        status = answer["PermissionSetProvisioningStatus"]
        status["Status"] = "IN_PROGRESS"
        with STATE["lock"]:
            STATE["provisioning"][status["RequestId"]] = dict(status, polls=0)
        return json.dumps(answer)

    def describe_permission_set_provisioning_status(self):
        request = self._get_param("ProvisionPermissionSetRequestId")
        with STATE["lock"]:
            STATE["calls"].append(("DescribeProvisioning", request))
            status = STATE["provisioning"].get(request)
            if status is None:
                raise ResourceNotFound(f"Could not find provisioning request {request}")
            status["polls"] += 1
            if status["polls"] > 1:
                status["Status"] = "FAILED" if STATE["provision_fail"] else "SUCCEEDED"
                if STATE["provision_fail"]:
                    status["FailureReason"] = "Quota exceeded for the role's managed policies"
            answer = {k: v for k, v in status.items() if k != "polls"}
        return json.dumps({"PermissionSetProvisioningStatus": answer})

    def list_accounts_for_provisioned_permission_set(self):
        key = permission_set(self)
        accounts = STATE["provisioned"].get(key, [])
        size = self._get_int_param("MaxResults") or 100
        start = int(self._get_param("NextToken") or 0)
        result = {"AccountIds": accounts[start : start + size]}
        if start + size < len(accounts):
            result["NextToken"] = str(start + size)
        return json.dumps(result)

    SSOAdminResponse.put_permissions_boundary_to_permission_set = put_permissions_boundary_to_permission_set
    SSOAdminResponse.get_permissions_boundary_for_permission_set = get_permissions_boundary_for_permission_set
    SSOAdminResponse.delete_permissions_boundary_from_permission_set = delete_permissions_boundary_from_permission_set
    SSOAdminResponse.provision_permission_set = provision_permission_set
    SSOAdminResponse.describe_permission_set_provisioning_status = describe_permission_set_provisioning_status
    SSOAdminResponse.list_accounts_for_provisioned_permission_set = list_accounts_for_provisioned_permission_set
    SSOAdminResponse._get_int_param = capped_int_param(SSOAdminResponse._get_int_param)


def install(fixtures, job_seconds, deny_assume_role=(), always_throttle=(), org_page_size=None):
    STATE["fixtures"] = fixtures
    STATE["org_page_size"] = org_page_size
    STATE["job_seconds"] = job_seconds
    STATE["deny_assume_role"] = set(deny_assume_role)
    STATE["always_throttle"] = set(always_throttle)
    from moto.sts.responses import TokenResponse

    moto_assume_role = TokenResponse.assume_role

    def assume_role(self):
        role_arn = self._get_param("RoleArn") or ""
        parts = role_arn.split(":")
        if len(parts) > 4 and parts[4] in STATE["deny_assume_role"]:
            raise AccessDenied(
                f"User: arn:aws:iam::{self.get_current_account()}:user/test is not authorized to perform: "
                f"sts:AssumeRole on resource: {role_arn}"
            )
        return moto_assume_role(self)

    TokenResponse.assume_role = assume_role
    from moto.organizations.responses import OrganizationsResponse

    OrganizationsResponse._get_int_param = capped_int_param(OrganizationsResponse._get_int_param)
    install_sso_admin()
    IamResponse.generate_service_last_accessed_details = generate_service_last_accessed_details
    IamResponse.get_service_last_accessed_details = get_service_last_accessed_details
    IamResponse.get_credential_report = get_credential_report
    moto_gaad = IamResponse.get_account_authorization_details

    def get_account_authorization_details(self):
        if STATE["fail_gaad"]:
            raise ServiceFailure("Request processing has failed due to an unknown error.")
        return moto_gaad(self)

    IamResponse.get_account_authorization_details = get_account_authorization_details


def control(app):
    """WSGI middleware: answers /_emulator/* itself, passes everything else to moto."""

    def wrapped(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/_emulator/"):
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            if STATE["deny_sso"] and target.startswith("SWBExternalService."):
                action = target.split(".", 1)[1]
                data = json.dumps(
                    {
                        "__type": "AccessDeniedException",
                        "Message": f"User: arn:aws:iam::123456789012:user/test is not authorized to perform: sso:{action}",
                    }
                ).encode()
                start_response(
                    "400 Bad Request",
                    [
                        ("Content-Type", "application/x-amz-json-1.1"),
                        ("x-amzn-ErrorType", "AccessDeniedException"),
                        ("Content-Length", str(len(data))),
                    ],
                )
                return [data]
            return app(environ, start_response)
        if path == "/_emulator/calls":
            with STATE["lock"]:
                body = json.dumps([list(call) for call in STATE["calls"]])
        elif path in ("/_emulator/outage/on", "/_emulator/outage/off"):
            STATE["outage"] = path.endswith("/on")
            body = json.dumps({"outage": STATE["outage"]})
        elif path in ("/_emulator/deny/sso-admin/on", "/_emulator/deny/sso-admin/off"):
            STATE["deny_sso"] = path.endswith("/on")
            body = json.dumps({"deny_sso": STATE["deny_sso"]})
        elif path in ("/_emulator/provision/fail/on", "/_emulator/provision/fail/off"):
            STATE["provision_fail"] = path.endswith("/on")
            body = json.dumps({"provision_fail": STATE["provision_fail"]})
        elif path in ("/_emulator/fail/gaad/on", "/_emulator/fail/gaad/off"):
            STATE["fail_gaad"] = path.endswith("/on")
            body = json.dumps({"fail_gaad": STATE["fail_gaad"]})
        else:
            start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "26")])
            return [b"unknown emulator endpoint\n"]
        data = body.encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    return wrapped


class Handler(MotoRequestHandler):
    """During an outage, a request other than /_emulator/* gets no answer: its connection is
    closed as soon as the request line is read, as a lost network would."""

    def parse_request(self):
        if not super().parse_request():
            return False
        if STATE["outage"] and not self.path.startswith("/_emulator/"):
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return False
        return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True, help="0: a free port, written to --port-file")
    parser.add_argument(
        "--port-file",
        metavar="FILE",
        help="write the port listened on to FILE (atomically, once listening): with --port 0, the "
        "tests learn the port without choosing one first, which another process could take",
    )
    parser.add_argument("--fixtures", default=os.path.join(HERE, "last-accessed.json"))
    parser.add_argument("--job-seconds", type=float, default=float(os.environ.get("IAM_EMULATOR_JOB_SECONDS", "0")))
    parser.add_argument("--deny-assume-role", action="append", default=[], metavar="ACCOUNT")
    parser.add_argument("--always-throttle", action="append", default=[], metavar="KEY")
    parser.add_argument("--org-page-size", type=int, default=None, metavar="N")
    parser.add_argument("--aws-managed-policies", action="store_true")
    args = parser.parse_args(argv)
    if args.aws_managed_policies:
        # moto's own switch, read when the account's IAM is first made.
        os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    with open(args.fixtures, encoding="utf-8") as f:
        install(json.load(f), args.job_seconds, args.deny_assume_role, args.always_throttle, args.org_page_size)
    # What moto.server.main does, with our control endpoints and request handler.
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(args.host, args.port, control(app), threaded=True, request_handler=Handler)
    port = server.server_address[1]
    os.environ.setdefault("MOTO_PORT", str(port))
    print(f"iam emulator on http://{args.host}:{port} (moto + last-accessed)", file=sys.stderr, flush=True)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
