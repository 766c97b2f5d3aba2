/**
 * Regenerates the checked-in, generated contract files:
 * - contracts/instance-types.generated.ts from the SageMaker SDK's enums (the workflow sandbox cannot import the SDK);
 * - contracts/pipeline-spec.schema.json from the zod pipeline spec.
 * `npm run schema:generate` writes them; test/unit/scripts/generated-contracts.test.ts fails when they are stale.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderInstanceTypes, renderSpecJsonSchema } from './render-contracts';

const root = join(__dirname, '..');
writeFileSync(join(root, 'contracts/instance-types.generated.ts'), renderInstanceTypes());
writeFileSync(join(root, 'contracts/pipeline-spec.schema.json'), renderSpecJsonSchema());
console.log('wrote contracts/instance-types.generated.ts and contracts/pipeline-spec.schema.json');
