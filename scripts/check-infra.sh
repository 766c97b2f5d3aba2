#!/usr/bin/env bash
# The infrastructure gate of `npm test`: synthesize infra/ offline with cdk-nag's AWS Solutions checks (an
# unacknowledged finding fails synthesis), then AWS's CloudFormation linter on the template (errors and warnings fail).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-infra/cdk.out}
npx tsx infra/synth.ts --out "$out"
.venv/bin/cfn-lint --format parseable "$out"/*.template.json
echo "cfn-lint $(.venv/bin/cfn-lint --version 2>&1 | awk '{print $2}'): 0 errors, 0 warnings"
