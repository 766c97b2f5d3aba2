"""`aws` for the local CodeBuild's build shell: `aws ecr get-login-password`, answered by local mode.

The build shell carries the project's service role session and the local endpoints (AWS_ENDPOINT_URL), so the
call is ECR GetAuthorizationToken as that role, authorized by the stack's IAM enforcement before moto answers,
exactly the call the AWS CLI makes (https://docs.aws.amazon.com/cli/latest/reference/ecr/get-login-password.html).
Anything else is refused, naming what is served. Exit codes as the AWS CLI v2's: 254 for a service error,
252 for a command it cannot parse.
"""

from __future__ import annotations

import base64
import sys


def main(argv: list[str]) -> int:
    region = None
    words: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--region" and i + 1 < len(argv):
            region, i = argv[i + 1], i + 2
        elif a.startswith("--region="):
            region, i = a.split("=", 1)[1], i + 1
        elif a in ("--no-cli-pager", "--no-paginate"):
            i += 1
        elif a == "--output" and i + 1 < len(argv):
            i += 2
        else:
            words.append(a)
            i += 1
    if words != ["ecr", "get-login-password"]:
        print(
            f"aws {' '.join(argv)}: the local CodeBuild's aws serves only `aws ecr get-login-password` "
            "(local/service/codebuild/shims/aws.py)",
            file=sys.stderr,
        )
        return 252
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        data = boto3.client("ecr", region_name=region).get_authorization_token()["authorizationData"][0]
    except ClientError as e:
        err = e.response.get("Error", {})
        print(
            f"\nAn error occurred ({err.get('Code')}) when calling the GetAuthorizationToken operation: "
            f"{err.get('Message')}",
            file=sys.stderr,
        )
        return 254
    except BotoCoreError as e:
        print(f"\n{e}", file=sys.stderr)
        return 255
    print(base64.b64decode(data["authorizationToken"]).decode().split(":", 1)[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
